// Wrappers of the fused LoRA operand snippets (shaders/operand_lora_*.wgsl): fewer, larger products for
// a LoRA layer. Each is the same sum as the separate products of ops/matmul.ts (checked by
// test/lora-fused.test.ts against src/ref/matmul.ts), in one dispatch:
//   loraLinearFwd  y = x·Wᵀ (+ bias) + s·h·Bᵀ (+ beta·y)         the base product and the LoRA up-projection
//   loraLinearBwd  dx = dy·W + dh·A (+ beta·dx)                    the input gradient of both (no dropout)
//   loraGroupA     h = x·[A0; A1; A2]ᵀ                            down-projections of modules sharing x
//   loraGroupDh    dh = s·[dy0 | dy1 | dy2]·diag(B0, B1, B2)       their dh, side by side
//   loraGroupDb    dB = s·stack(dy_gᵀ·h_g) (+ beta·dB)             their dB, rows stacked
import type { Binding, Recorder } from '../program';
import { KERNELS } from '../shaders';
import type { GpuWeight } from '../weight';
import { dummyBuffer } from './common';
import { matmulPlan, matmulParams, productCost } from './matmul';

/** Storage buffers the fused linears bind (NF4 with double quantization: 4 weight buffers, plus x, y, bias, h, the slot). */
export const LORA_FUSED_STORAGE_BUFFERS = 9;

/** Whether this device can bind what the fused linears need; without, the separate products run. */
export function canFuseLoraLinear(limits: { maxStorageBuffersPerShaderStage: number }): boolean {
  return limits.maxStorageBuffersPerShaderStage >= LORA_FUSED_STORAGE_BUFFERS;
}

/** Columns [col, col + rank) of a [M, ld] buffer of LoRA activations (or their gradients). */
export interface LoraColumns {
  buffer: Binding;
  ld: number;
  col: number;
}

const MAX_GROUP = 3;

function checkGroup(what: string, n: number): void {
  if (n < 1 || n > MAX_GROUP) throw new Error(`${what}: a group has 1 to ${MAX_GROUP} modules, got ${n}`);
}

/** Pads a group's bindings to three (the snippets declare three; unused ones are never read). */
function three(rec: Recorder, b: Binding[]): Binding[] {
  return [0, 1, 2].map((i) => b[i] ?? dummyBuffer(rec.ctx));
}

/** y[M, rows] = x[M, cols]·Wᵀ (+ bias) + scale·h·Bᵀ (+ beta·y); B [rows, rank] is the module's slot. */
export function loraLinearFwd(
  rec: Recorder, y: Binding, x: Binding, w: GpuWeight, M: number, h: LoraColumns, B: Binding, rank: number, scale: number,
  o: { bias?: Binding; beta?: number } = {},
): void {
  const plan = matmulPlan(rec.ctx, M, w.rows);
  rec.dispatch(
    KERNELS.loraLinearFwd(plan.v, w.format, { rank, hLd: h.ld, hCol: h.col, scale }),
    matmulParams(M, w.rows, w.cols + rank, w.cols, 0, w.rows, o, w),
    padTo8([x, y, o.bias ?? dummyBuffer(rec.ctx), ...w.buffers], rec, [h.buffer, B]),
    plan.grid,
    productCost(M, w.rows, w.cols + rank),
  );
}

/** dx[M, cols] = dy[M, rows]·W + dh·A (+ beta·dx); A [rank, cols] is the module's slot. */
export function loraLinearBwd(
  rec: Recorder, dx: Binding, dy: Binding, w: GpuWeight, M: number, dh: LoraColumns, A: Binding, rank: number, o: { beta?: number } = {},
): void {
  const plan = matmulPlan(rec.ctx, M, w.cols);
  rec.dispatch(
    KERNELS.loraLinearBwd(plan.v, w.format, { rank, hLd: dh.ld, hCol: dh.col }),
    matmulParams(M, w.cols, w.rows + rank, w.rows, 0, w.cols, o, w),
    padTo8([dy, dx, dummyBuffer(rec.ctx), ...w.buffers], rec, [dh.buffer, A]),
    plan.grid,
    productCost(M, w.cols, w.rows + rank),
  );
}

/** Bindings 1..7 as listed (null where the weight format binds fewer), then `extra` from binding 8. */
function padTo8(first: Binding[], rec: Recorder, extra: Binding[]): (Binding | null)[] {
  if (first.length > 7) throw new Error(`fused LoRA linear: ${first.length} bindings before the LoRA ones, at most 7`);
  return [...first, ...Array<null>(7 - first.length).fill(null), ...extra];
}

/** h[M, G·rank] = x[M, K]·[A0; …]ᵀ, each A_g [rank, K]. */
export function loraGroupA(rec: Recorder, h: Binding, x: Binding, A: Binding[], M: number, K: number, rank: number): void {
  checkGroup('loraGroupA', A.length);
  const N = A.length * rank;
  const plan = matmulPlan(rec.ctx, M, N);
  rec.dispatch(
    KERNELS.loraGroupA(plan.v, rank),
    matmulParams(M, N, K, K, 0, N, {}),
    [x, h, dummyBuffer(rec.ctx), ...three(rec, A)],
    plan.grid,
    productCost(M, N, K),
  );
}

/** dh[M, G·rank] = scale·[dy_g·B_g]_g, each dy_g [M, outs[g]] dense and B_g [outs[g], rank]. */
export function loraGroupDh(rec: Recorder, dh: Binding, dy: Binding[], B: Binding[], outs: number[], M: number, rank: number, scale: number): void {
  checkGroup('loraGroupDh', dy.length);
  if (B.length !== dy.length || outs.length !== dy.length) throw new Error('loraGroupDh: one dy, B and out size per module');
  const N = dy.length * rank;
  const K = outs.reduce((a, b) => a + b, 0);
  const d = three(rec, dy);
  const plan = matmulPlan(rec.ctx, M, N);
  rec.dispatch(
    KERNELS.loraGroupDh(plan.v, rank, outs[0], outs[1] ?? 0),
    matmulParams(M, N, K, outs[0], 0, N, { alpha: scale }),
    [d[0], dh, dummyBuffer(rec.ctx), ...three(rec, B), d[1], d[2]],
    plan.grid,
    productCost(M, rank, K), // block-diagonal: module g's rank columns sum over its outs[g] rows, 2·M·rank·Σouts in all
  );
}

/**
 * dB[Σouts, rank] (+)= scale·stack_g(dy_gᵀ·h_g) over T tokens, h [T, G·rank] the group's activations:
 * the rows of module g follow those of the modules before it.
 */
export function loraGroupDb(rec: Recorder, dB: Binding, dy: Binding[], h: Binding, outs: number[], T: number, rank: number, scale: number, beta: number): void {
  checkGroup('loraGroupDb', dy.length);
  if (outs.length !== dy.length) throw new Error('loraGroupDb: one dy and out size per module');
  const rows = outs.reduce((a, b) => a + b, 0);
  const d = three(rec, dy);
  const plan = matmulPlan(rec.ctx, rows, rank);
  rec.dispatch(
    KERNELS.loraGroupDb(plan.v, rank, dy.length, outs[0], outs[1] ?? 0),
    matmulParams(rows, rank, dy.length * T, 0, 0, rank, { alpha: scale, beta }),
    [d[0], dB, dummyBuffer(rec.ctx), h, null, null, d[1], d[2]],
    plan.grid,
    productCost(rows, rank, T), // block-diagonal in K: each row sums over T tokens
  );
}
