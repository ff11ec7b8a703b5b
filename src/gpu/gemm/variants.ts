// The variant space of the matrix-product generator: what `bench --sweep` tries on a device and what the
// tuning table (tuning.ts) records. A tiling is written as a short id, e.g. `128x64.k32.sg2x2.pf.pad8`,
// so the table reads as text. Every tiling of the space must build and agree with the reference on
// SwiftShader (test/gemm-variants.test.ts), so the space stays small and fits SwiftShader's 32 KiB of
// workgroup memory: a tiling the table names is always one the tests ran.
import type { GemmBackend, GemmTiling, GemmVariant, MatrixShape } from './config';
import { SPLIT_K_ALIGN } from './config';

/** Workgroup memory every tiling of the space fits in (SwiftShader's and most desktop GPUs' limit). */
export const SPACE_WORKGROUP_BYTES = 32768;
/** Threads of a scalar workgroup per side (16 × 16 = 256). */
export const SCALAR_THREADS = 16;

/** `128x64.k32.sg2x2.pf.pad8`: tile M×N, k step, subgroups M×N, prefetch, skew (the last three only when set). */
export function tilingId(t: GemmTiling): string {
  const sg = t.sgM !== 1 || t.sgN !== 1 ? `.sg${t.sgM}x${t.sgN}` : '';
  return `${t.tileM}x${t.tileN}.k${t.kStep}${sg}${t.prefetch ? '.pf' : ''}${t.pad ? `.pad${t.pad}` : ''}`;
}

const ID = /^(\d+)x(\d+)\.k(\d+)(?:\.sg(\d+)x(\d+))?(\.pf)?(?:\.pad(\d+))?$/;

/** The tiling an id names, or null when it is not one (tuning.ts reports where). */
export function parseTilingId(id: string): GemmTiling | null {
  const m = ID.exec(id);
  if (!m) return null;
  return {
    tileM: Number(m[1]), tileN: Number(m[2]), kStep: Number(m[3]),
    sgM: m[4] ? Number(m[4]) : 1, sgN: m[5] ? Number(m[5]) : 1,
    prefetch: !!m[6], pad: m[7] ? Number(m[7]) : 0,
  };
}

/** Invocations of one workgroup. */
export function workgroupThreads(v: GemmVariant): number {
  return v.backend.startsWith('subgroup') ? v.sgM * v.sgN * v.subgroupSize : SCALAR_THREADS * SCALAR_THREADS;
}

/** Bytes of workgroup memory a variant declares (the tiles, and the f32 staging of the subgroup-matrix epilogue). */
export function workgroupBytes(v: GemmVariant): number {
  if (!v.backend.startsWith('subgroup')) {
    const elem = v.backend === 'scalar-f16' ? 2 : 4;
    return (v.tileM + v.tileN) * v.kStep * elem;
  }
  return (v.tileM + v.tileN) * (v.kStep + v.pad) * 2 + v.sgM * v.sgN * v.frag.M * v.frag.N * 4;
}

/** Why the generator cannot build this variant, or null. */
export function tilingProblem(v: GemmVariant): string | null {
  if (SPLIT_K_ALIGN % v.kStep !== 0) return `k step ${v.kStep} does not divide the split-K alignment ${SPLIT_K_ALIGN}`;
  if (!v.backend.startsWith('subgroup')) {
    if (v.sgM !== 1 || v.sgN !== 1 || v.pad !== 0) return 'scalar tilings have no subgroups or skew';
    if (v.tileM % (4 * SCALAR_THREADS) !== 0 || v.tileN % (4 * SCALAR_THREADS) !== 0) return `scalar tiles are multiples of ${4 * SCALAR_THREADS} (vec4 per thread)`;
    if ((SCALAR_THREADS * SCALAR_THREADS) % v.kStep !== 0) return `k step ${v.kStep} does not divide the ${SCALAR_THREADS * SCALAR_THREADS} threads`;
    return null;
  }
  const { M: FM, N: FN, K: FK } = v.frag;
  if (v.tileM % (v.sgM * FM) !== 0 || v.tileN % (v.sgN * FN) !== 0) return `a ${v.tileM}x${v.tileN} tile does not split into ${v.sgM}x${v.sgN} subgroups of ${FM}x${FN} fragments`;
  if (v.kStep % FK !== 0) return `k step ${v.kStep} is not whole ${FK}-deep fragments`;
  if (v.pad % 2 !== 0) return 'the skew is whole f16 pairs';
  const threads = workgroupThreads(v);
  const halfK = v.kStep / 2;
  if (threads % halfK !== 0 || ((v.tileM * halfK) % threads) !== 0 || ((v.tileN * halfK) % threads) !== 0) {
    return `${threads} threads do not load a ${v.tileM}x${v.tileN}x${v.kStep} tile in whole pairs`;
  }
  return null;
}

// The space, by id. Small on purpose: each variant costs SwiftShader seconds to build in the tests, so it
// holds the safe defaults and one step along each axis the fast public designs vary (tile shape, k step,
// register prefetch, skewed rows, subgroups per workgroup), mostly around the big tile where the time goes.
const SCALAR_SPACE = [
  '64x64.k16', '128x128.k16', // the safe defaults
  '64x64.k16.pf', '64x64.k32.pf', '128x64.k16.pf', '64x128.k16.pf', '128x128.k16.pf',
  // (128x128.k32.pf, 32 prefetch registers a thread, took SwiftShader minutes to build: not in the space.)
];
const SUBGROUP_SPACE = [
  '64x64.k32.sg2x2', '128x128.k32.sg2x2', // the safe defaults
  '64x64.k32.sg2x2.pf.pad8', '128x64.k32.sg2x2.pf.pad8', '64x128.k32.sg2x2.pf.pad8',
  '128x128.k32.sg2x2.pf', '128x128.k32.sg2x2.pf.pad8', '128x128.k16.sg2x2.pf.pad8',
  // Eight subgroups on the big tile (llama.cpp's and ONNX Runtime's NVIDIA shapes: 4 × 2 warps).
  '128x128.k32.sg4x2.pf.pad8', '128x128.k32.sg2x4.pf.pad8',
];

/**
 * The tilings the sweep tries for a back end, less those the generator cannot build for this fragment and
 * subgroup size or that exceed `maxBytes` of workgroup memory (and SPACE_WORKGROUP_BYTES) or `maxThreads`.
 */
export function variantSpace(
  backend: GemmBackend, frag: MatrixShape, subgroupSize: number,
  limits: { maxBytes: number; maxThreads: number } = { maxBytes: SPACE_WORKGROUP_BYTES, maxThreads: 256 },
): GemmTiling[] {
  const ids = backend.startsWith('subgroup') ? SUBGROUP_SPACE : SCALAR_SPACE;
  const space = Math.min(limits.maxBytes, SPACE_WORKGROUP_BYTES);
  return ids.map((id) => parseTilingId(id)!).filter((t) => {
    const v: GemmVariant = { ...t, backend, frag, subgroupSize };
    return !tilingProblem(v) && workgroupBytes(v) <= space && workgroupThreads(v) <= limits.maxThreads;
  });
}
