// Per-kernel timings at a model's shapes, with the floor each kernel's FLOPs and bytes imply against the
// device's ceilings; each matrix product's row names the back end and tile it ran on (`backend`):
//   floor = max(flops / peak_flops, bytes / peak_bandwidth); efficiency = floor / measured.
// The ceilings are independent of the kernels they judge: bandwidth from a copy kernel with 16-byte
// loads and four in flight per thread (shaders/copy_vec4.wgsl; copyBufferToBuffer read 822 GB/s on an
// H200 that copies at ≈4.3 TB/s, still reported as copy_buffer_gbps), and FLOP/s from the best product
// the variant sweep found on this device (bench --sweep's result file, --product-ceiling), else the
// datasheet's peak for the back end's arithmetic (tensor cores or FP32), and only where neither exists
// (a software adapter) our own 2048³ product, which the ceilings line says (matmul_source).
// Where the device has a datasheet profile (device-profiles.ts), also the floors at the datasheet's FP32
// and tensor-core peaks with its memory bandwidth: lower bounds from physics, never predicted times.
import type { GpuContext } from '../gpu/context';
import { STORAGE } from '../gpu/context';
import { Recorder } from '../gpu/program';
import type { Program } from '../gpu/program';
import type { ModelConfig } from '../formats/model-config';
import { linearFwd, linearBwd, matmul } from '../gpu/ops/matmul';
import { attentionFwd, attentionBwd } from '../gpu/ops/attention';
import { crossEntropy } from '../gpu/ops/loss';
import { adamw, reduceSum, reduceScratch } from '../gpu/ops/optimizer';
import { uploadWeight } from '../gpu/weight';
import type { HostWeight } from '../gpu/weight';
import { logitsChunkRows } from '../engine/causal-lm';
import { timeGpu } from './timing';
import { gemmLabel, gemmVariant } from '../gpu/gemm';
import { floorMs } from './device-profiles';
import { copyVec4 } from '../gpu/ops/copy';
import type { DeviceProfile } from './device-profiles';

export interface KernelRow {
  kernel: string;
  shape: string;
  /** The matrix-product back end and tile it ran on (gemm/config.ts gemmLabel, e.g. `scalar/t128`); `-` for other kernels. */
  backend: string;
  ms: number;
  tflops: number;
  gbps: number;
  /** Floor at the measured ceilings, and floor_ms / ms. */
  floor_ms: number;
  efficiency: number;
  /** The datasheet profile the next two floors use (absent when none matches the device). */
  datasheet?: string;
  /** Floor at the datasheet's dense FP32 peak and memory bandwidth: the bound of scalar f32 products. */
  floor_ms_datasheet_fp32?: number;
  /** Floor at the datasheet's dense BF16/FP16 tensor-core peak and memory bandwidth: no kernel on the chip beats it. */
  floor_ms_datasheet_tensor?: number;
}

export interface Ceilings {
  tflops: number;
  gbps: number;
}

/** Where the FLOP/s ceiling came from: the sweep's best product, the datasheet, or our own product (nothing better known). */
export type ProductCeilingSource = 'sweep' | 'datasheet' | 'own-product';

export interface MeasuredCeilings extends Ceilings {
  tflopsSource: ProductCeilingSource;
  /** Our 2048³ product on the context's back end (what the ceiling used to be). */
  ownProductTflops: number;
  /** copyBufferToBuffer of the same bytes, for comparison with the copy kernel. */
  copyBufferGbps: number;
}

function program(ctx: GpuContext, body: (rec: Recorder) => void): Program {
  const rec = new Recorder(ctx);
  body(rec);
  return rec.finish('bench');
}

const buf = (ctx: GpuContext, floats: number) => ctx.createBuffer(floats * 4, STORAGE, 'bench');

/**
 * The ceilings of the header. `sweepTflops`: the best product of the sweep's result file (bestSweepTflops);
 * `profile`: the datasheet, whose tensor-core peak bounds the subgroup-matrix back end and FP32 the others.
 */
export async function measureCeilings(ctx: GpuContext, o: { sweepTflops?: number | null; profile?: DeviceProfile | null } = {}): Promise<MeasuredCeilings> {
  const n = 2048;
  const [a, b, c] = [buf(ctx, n * n), buf(ctx, n * n), buf(ctx, n * n)];
  const mm = program(ctx, (rec) => matmul(rec, c, a, b, n, n, n));
  const ms = await timeGpu(ctx, () => mm.submit(), 5);
  const bytes = 256 * 2 ** 20;
  const [src, dst] = [ctx.createBuffer(bytes, STORAGE, 'copy.src'), ctx.createBuffer(bytes, STORAGE, 'copy.dst')];
  const copy = program(ctx, (rec) => copyVec4(rec, dst, src, bytes));
  const copyMs = await timeGpu(ctx, () => copy.submit(), 10);
  const copyBufferMs = await timeGpu(ctx, () => {
    const enc = ctx.device.createCommandEncoder();
    enc.copyBufferToBuffer(src, 0, dst, 0, bytes);
    ctx.device.queue.submit([enc.finish()]);
  }, 10);
  for (const x of [a, b, c, src, dst]) ctx.destroyBuffer(x);
  mm.destroy();
  copy.destroy();
  const own = (2 * n ** 3) / (ms / 1000) / 1e12;
  const datasheet = o.profile ? (ctx.gemmBackend === 'subgroup-matrix' ? o.profile.tensorTflops : o.profile.fp32Tflops) : null;
  const [tflops, tflopsSource]: [number, ProductCeilingSource] = o.sweepTflops ? [o.sweepTflops, 'sweep'] : datasheet ? [datasheet, 'datasheet'] : [own, 'own-product'];
  return { tflops, tflopsSource, ownProductTflops: own, gbps: (2 * bytes) / (copyMs / 1000) / 1e9, copyBufferGbps: (2 * bytes) / (copyBufferMs / 1000) / 1e9 };
}

/**
 * The best TFLOP/s in a sweep result file (bench --sweep --sweep-out): the largest numeric `tflops`
 * anywhere in its JSON (one document or JSON lines), so the ceiling does not depend on the table's layout.
 */
export function bestSweepTflops(text: string): number | null {
  let best: number | null = null;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'tflops' && typeof x === 'number' && Number.isFinite(x)) best = Math.max(best ?? 0, x);
        else visit(x);
      }
    }
  };
  const docs = (() => {
    try {
      return [JSON.parse(text)];
    } catch {
      return text.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
    }
  })();
  docs.forEach(visit);
  return best;
}

export async function benchKernels(ctx: GpuContext, cfg: ModelConfig, gate: HostWeight, B: number, T: number, loraParams: number, ceil: Ceilings, profile: DeviceProfile | null = null, reps = 5): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  const M = B * T;
  const D = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  /** The back end an M×N product runs on here. */
  const gemm = (m: number, n: number) => gemmLabel(gemmVariant(ctx.gemm, m, n)).slice(1);
  const row = async (kernel: string, shape: string, flops: number, bytes: number, p: Program, backend = '-') => {
    const ms = await timeGpu(ctx, () => p.submit(), reps);
    const floor = floorMs(flops, bytes, ceil.tflops, ceil.gbps);
    const r: KernelRow = { kernel, shape, backend, ms, tflops: flops / (ms / 1000) / 1e12, gbps: bytes / (ms / 1000) / 1e9, floor_ms: floor, efficiency: floor / ms };
    if (profile) {
      r.datasheet = profile.name;
      r.floor_ms_datasheet_fp32 = floorMs(flops, bytes, profile.fp32Tflops, profile.memGbps);
      r.floor_ms_datasheet_tensor = floorMs(flops, bytes, profile.tensorTflops, profile.memGbps);
    }
    rows.push(r);
    p.destroy();
  };
  const w = uploadWeight(ctx, gate, 'bench.gate');
  const wBytes = w.bytes;
  const [x, y] = [buf(ctx, M * D), buf(ctx, M * I)];
  await row(`${gate.format} matmul fwd`, `${M}x${I}x${D}`, 2 * M * I * D, wBytes + 4 * M * (D + I), program(ctx, (rec) => linearFwd(rec, y, x, w, M)), gemm(M, I));
  await row(`${gate.format} matmul bwd (dx)`, `${M}x${D}x${I}`, 2 * M * I * D, wBytes + 4 * M * (D + I), program(ctx, (rec) => linearBwd(rec, x, y, w, M)), gemm(M, D));
  for (const b of [x, y, ...w.buffers]) ctx.destroyBuffer(b);

  const { numHeads: H, numKvHeads: Hkv, headDim: d } = cfg;
  const q = buf(ctx, M * H * d);
  const k = buf(ctx, M * Hkv * d);
  const v = buf(ctx, M * Hkv * d);
  const o = buf(ctx, M * H * d);
  const lse = buf(ctx, B * H * T);
  const dyn = buf(ctx, 1);
  const g = { dq: buf(ctx, M * H * d), dk: buf(ctx, M * Hkv * d), dv: buf(ctx, M * Hkv * d), Dsum: buf(ctx, B * H * T) };
  const attnFlops = 2 * B * H * T * T * d;
  const attnBytes = 4 * M * d * (2 * H + 2 * Hkv);
  const scale = 1 / Math.sqrt(d);
  await row('attention fwd', `B${B} T${T} H${H}/${Hkv} d${d}`, attnFlops, attnBytes, program(ctx, (rec) => attentionFwd(rec, o, lse, q, k, v, dyn, { B, Tq: T, H, Hkv, d, kvRows: T, scale })));
  await row('attention bwd', `B${B} T${T} H${H}/${Hkv} d${d}`, 2 * attnFlops, 2 * attnBytes, program(ctx, (rec) => attentionBwd(rec, g, o, o, lse, q, k, v, B, T, H, Hkv, d, scale)));
  for (const b of [q, k, v, o, lse, ...Object.values(g)]) ctx.destroyBuffer(b);

  const V = cfg.vocabSize;
  const R = logitsChunkRows(M, V, undefined, D);
  const [logits, targets, loss, scaleBuf] = [buf(ctx, R * V), buf(ctx, R), buf(ctx, R), buf(ctx, 1)];
  await row('cross-entropy (chunk)', `${R}x${V}`, 5 * R * V, 3 * 4 * R * V, program(ctx, (rec) => crossEntropy(rec, loss, logits, targets, scaleBuf, R, V, true)));
  for (const b of [logits, targets, loss, scaleBuf, dyn]) ctx.destroyBuffer(b);

  const n = loraParams;
  const [p, gr, m, vv, sumsq, stepVals, refused] = [buf(ctx, n), buf(ctx, n), buf(ctx, n), buf(ctx, n), buf(ctx, 1), buf(ctx, 4), buf(ctx, 1)];
  const scratch = reduceScratch(ctx, n, 'bench.reduce');
  await row('grad norm + AdamW', `${n} params`, 12 * n, 8 * 4 * n, program(ctx, (rec) => {
    reduceSum(rec, sumsq, gr, n, scratch, true);
    adamw(rec, p, gr, m, vv, sumsq, stepVals, refused, n, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0.3 });
  }));
  for (const b of [p, gr, m, vv, sumsq, stepVals, refused, scratch]) ctx.destroyBuffer(b);
  return rows;
}
