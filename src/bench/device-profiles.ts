// Datasheet peaks of the GPUs the speed work is measured on, for the per-kernel table's floors: the
// shortest time a kernel's FLOPs and bytes allow at the vendor's peak rates. A floor is a bound, not a
// forecast: no kernel runs below it, and a real one runs above it by however far it is from the peak.
// Figures are NVIDIA's datasheets, dense (the "with sparsity" tensor figures halved):
//   H100: "NVIDIA H100 Tensor Core GPU" datasheet — SXM: FP32 67 TFLOP/s, BF16/FP16 tensor 1,979 sparse
//         (989 dense), HBM3 3.35 TB/s; PCIe: FP32 51, BF16 1,513 sparse (756 dense), HBM2e 2.0 TB/s;
//         NVL: FP32 60, BF16 1,671 sparse (835 dense), HBM3 3.9 TB/s.
//   H200: "NVIDIA H200 Tensor Core GPU" datasheet — SXM: FP32 67, BF16/FP16 tensor 1,979 sparse (989 dense),
//         HBM3e 4.8 TB/s; NVL: FP32 60, BF16 1,671 sparse (835 dense), 4.8 TB/s.
// What this workplace measured on its H200 (KINDS.md): bf16 GEMM 769–798 TFLOP/s, device copy ≈ 4.3 TB/s —
// below the datasheet, as expected; the bench's own measured ceilings are reported beside these.

export interface DeviceProfile {
  /** The part, as the datasheet names it. */
  name: string;
  /** Dense FP32 on the CUDA cores (no tensor cores), TFLOP/s: the bound of the scalar f32 products. */
  fp32Tflops: number;
  /** Dense BF16/FP16 on the tensor cores, TFLOP/s: the bound no product on this chip can beat. */
  tensorTflops: number;
  /** Memory bandwidth, GB/s. */
  memGbps: number;
}

// Most specific first: "H100 PCIe" must not fall through to the SXM entry. The nvidia-smi names are
// "NVIDIA H100 80GB HBM3" (SXM5), "NVIDIA H100 PCIe", "NVIDIA H100 NVL", "NVIDIA H200", "NVIDIA H200 NVL";
// Dawn's adapter description on Vulkan carries the same device name.
const PROFILES: [RegExp, DeviceProfile][] = [
  [/H100\s*PCIe/i, { name: 'NVIDIA H100 PCIe', fp32Tflops: 51, tensorTflops: 756, memGbps: 2000 }],
  [/H100\s*NVL/i, { name: 'NVIDIA H100 NVL', fp32Tflops: 60, tensorTflops: 835, memGbps: 3900 }],
  [/H100/i, { name: 'NVIDIA H100 SXM', fp32Tflops: 67, tensorTflops: 989, memGbps: 3350 }],
  [/H200\s*NVL/i, { name: 'NVIDIA H200 NVL', fp32Tflops: 60, tensorTflops: 835, memGbps: 4800 }],
  [/H200/i, { name: 'NVIDIA H200 SXM', fp32Tflops: 67, tensorTflops: 989, memGbps: 4800 }],
];

/** The datasheet profile whose pattern matches the first of `names` that matches any (adapter description, nvidia-smi name); null if none. */
export function deviceProfile(...names: (string | undefined)[]): DeviceProfile | null {
  for (const n of names) {
    if (!n) continue;
    for (const [re, p] of PROFILES) if (re.test(n)) return p;
  }
  return null;
}

/** Shortest time, in ms, that `flops` at `tflops` and `bytes` at `gbps` allow: the larger of the two. */
export function floorMs(flops: number, bytes: number, tflops: number, gbps: number): number {
  return Math.max(flops / (tflops * 1e12), bytes / (gbps * 1e9)) * 1000;
}
