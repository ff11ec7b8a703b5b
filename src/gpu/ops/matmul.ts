// Wrappers of the generated matrix product (src/gpu/gemm/): dense products (LoRA, lm_head in f32) and the
// frozen-weight linears y = x·Wᵀ and dx = dy·W in any weight format (NF4 dequantized in the tile loads).
// The back end is the context's (ctx.gemm); the tile, and so the grid, follows each product's M and N.
// Split-K (o.splitK): the product runs as S slices of K into a partial buffer, then gemm_splitk_reduce
// sums them in slice order and applies bias/beta (src/gpu/gemm/config.ts says when that pays).
import type { Binding, DispatchCost, KernelSpec, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import type { GpuWeight } from '../weight';
import { dummyBuffer } from './common';
import type { GpuContext } from '../context';
import { gemmGrid, gemmVariant, splitK } from '../gemm';
import type { GemmVariant } from '../gemm';

export interface MatmulOptions {
  transA?: boolean; // A stored [K, M]
  transB?: boolean; // B stored [N, K]
  lda?: number;
  ldb?: number;
  ldc?: number;
  alpha?: number;
  beta?: number; // C = alpha·A·B + beta·C
  bias?: Binding; // [N]
  /**
   * Read one dense operand through inverted dropout (the mask of ops/activation.ts dropout() for the
   * same seed and stream, element index as there): 'A' un-transposed, or 'B' un-transposed.
   */
  dropout?: { operand: 'A' | 'B'; p: number; stream: number; seed: Binding };
  /** Cut K into (at most) `slices` slices (splitK() in gemm/config.ts); partial f32 [slices, M, N] scratch. */
  splitK?: SplitKOptions;
}

export interface SplitKOptions {
  slices: number;
  partial: Binding;
}

export function matmulParams(
  M: number, N: number, K: number, lda: number, ldb: number, ldc: number, o: MatmulOptions, w?: GpuWeight,
  slice: { kSlice: number; sliceStride: number } = { kSlice: K, sliceStride: 0 },
): Params {
  return new Params()
    .u32(M).u32(N).u32(K)
    .u32(lda).u32(ldb).u32(ldc)
    .f32(o.alpha ?? 1).f32(o.beta ?? 0).u32(o.bias ? 1 : 0)
    .u32(w?.cols ?? 0).u32(w?.blocksize ?? 64).u32(w?.nestedBlocksize ?? 256).f32(w?.offset ?? 0)
    .f32(o.dropout?.p ?? 0).u32((o.dropout?.stream ?? 0) >>> 0)
    .u32(slice.kSlice).u32(slice.sliceStride);
}

/** An M×N×K product's work, for the submission budget and the step profile (gpu/program.ts). */
export const productCost = (M: number, N: number, K: number): DispatchCost => ({ flops: 2 * M * N * K, shape: `${M}x${N}x${K}` });

/** Bindings 1..3 are A, C, bias; `operands` bind from 4. One dispatch, or S slices and the reduce. */
function dispatchProduct(
  rec: Recorder, kernel: KernelSpec, grid: [number, number], C: Binding, A: Binding, operands: readonly Binding[],
  M: number, N: number, K: number, lda: number, ldb: number, ldc: number, o: MatmulOptions, w?: GpuWeight,
): void {
  const bias = o.bias ?? dummyBuffer(rec.ctx);
  const { kSlice, slices } = o.splitK ? splitK(K, o.splitK.slices) : { kSlice: K, slices: 1 };
  if (slices === 1) {
    rec.dispatch(kernel, matmulParams(M, N, K, lda, ldb, ldc, o, w), [A, C, bias, ...operands], grid, productCost(M, N, K));
    return;
  }
  const partial = o.splitK!.partial;
  const need = slices * M * N * 4;
  const have = partial.size;
  if (have < need) throw new Error(`${kernel.label}: split-K partial buffer holds ${have} bytes, ${slices} slices of ${M}x${N} need ${need}`);
  const sliced = { ...o, beta: 0, bias: undefined };
  rec.dispatch(kernel, matmulParams(M, N, K, lda, ldb, N, sliced, w, { kSlice, sliceStride: M * N }), [A, partial, dummyBuffer(rec.ctx), ...operands], [grid[0], grid[1], slices], productCost(M, N, K));
  rec.dispatch(
    KERNELS.gemmSplitKReduce,
    new Params().u32(M).u32(N).u32(ldc).u32(slices).f32(o.beta ?? 0).u32(o.bias ? 1 : 0),
    [partial, C, bias],
    [Math.ceil(N / 64), Math.ceil(M / 4)],
  );
}

/** The variant an M×N product runs as on this context, and its grid. */
export function matmulPlan(ctx: GpuContext, M: number, N: number): { v: GemmVariant; grid: [number, number] } {
  const v = gemmVariant(ctx.gemm, M, N);
  return { v, grid: gemmGrid(v, M, N) };
}

/** C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] (+ bias) (+ beta · C). */
export function matmul(rec: Recorder, C: Binding, A: Binding, B: Binding, M: number, N: number, K: number, o: MatmulOptions = {}): void {
  const lda = o.lda ?? (o.transA ? M : K);
  const ldb = o.ldb ?? (o.transB ? K : N);
  const ldc = o.ldc ?? N;
  const drop = o.dropout;
  if (drop && ((drop.operand === 'A' && o.transA) || (drop.operand === 'B' && o.transB))) {
    throw new Error('matmul: the dropout operand is read un-transposed');
  }
  const { v, grid } = matmulPlan(rec.ctx, M, N);
  const kernel = drop ? KERNELS.matmulDenseDropout(v, !!o.transA, !!o.transB, drop.operand) : KERNELS.matmulDense(v, !!o.transA, !!o.transB);
  dispatchProduct(rec, kernel, grid, C, A, drop ? [B, drop.seed] : [B], M, N, K, lda, ldb, ldc, o);
}

/** y[M, rows] = x[M, cols] · Wᵀ (+ bias) (+ beta · y). */
export function linearFwd(rec: Recorder, y: Binding, x: Binding, w: GpuWeight, M: number, o: Omit<MatmulOptions, 'transA' | 'transB' | 'ldb'> = {}): void {
  const lda = o.lda ?? w.cols;
  const ldc = o.ldc ?? w.rows;
  const { v, grid } = matmulPlan(rec.ctx, M, w.rows);
  rec.dispatch(
    KERNELS.linearFwd(v, w.format),
    matmulParams(M, w.rows, w.cols, lda, 0, ldc, o, w),
    [x, y, o.bias ?? dummyBuffer(rec.ctx), ...w.buffers],
    grid,
    productCost(M, w.rows, w.cols),
  );
}

/** dx[M, cols] = dy[M, rows] · W (+ beta · dx); K = rows (the vocabulary for the lm_head: splitK pays there). */
export function linearBwd(rec: Recorder, dx: Binding, dy: Binding, w: GpuWeight, M: number, o: { beta?: number; alpha?: number; splitK?: SplitKOptions } = {}): void {
  const { v, grid } = matmulPlan(rec.ctx, M, w.cols);
  dispatchProduct(rec, KERNELS.linearBwd(v, w.format), grid, dx, dy, w.buffers, M, w.cols, w.rows, w.rows, 0, w.cols, o, w);
}
