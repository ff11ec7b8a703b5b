// Wrappers of the generated matrix product (src/gpu/gemm/): dense products (LoRA, lm_head in f32) and the
// frozen-weight linears y = x·Wᵀ and dx = dy·W in any weight format (NF4 dequantized in the tile loads).
// The back end is the context's (ctx.gemm); the tile, and so the grid, follows each product's M and N.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import type { GpuWeight } from '../weight';
import { dummyBuffer } from './common';
import type { GpuContext } from '../context';
import { gemmGrid, gemmVariant } from '../gemm';
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
}

export function matmulParams(M: number, N: number, K: number, lda: number, ldb: number, ldc: number, o: MatmulOptions, w?: GpuWeight): Params {
  return new Params()
    .u32(M).u32(N).u32(K)
    .u32(lda).u32(ldb).u32(ldc)
    .f32(o.alpha ?? 1).f32(o.beta ?? 0).u32(o.bias ? 1 : 0)
    .u32(w?.cols ?? 0).u32(w?.blocksize ?? 64).u32(w?.nestedBlocksize ?? 256).f32(w?.offset ?? 0)
    .f32(o.dropout?.p ?? 0).u32((o.dropout?.stream ?? 0) >>> 0);
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
  rec.dispatch(
    drop ? KERNELS.matmulDenseDropout(v, !!o.transA, !!o.transB, drop.operand) : KERNELS.matmulDense(v, !!o.transA, !!o.transB),
    matmulParams(M, N, K, lda, ldb, ldc, o),
    drop ? [A, C, o.bias ?? dummyBuffer(rec.ctx), B, drop.seed] : [A, C, o.bias ?? dummyBuffer(rec.ctx), B],
    grid,
  );
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
  );
}

/** dx[M, cols] = dy[M, rows] · W (+ beta · dx). */
export function linearBwd(rec: Recorder, dx: Binding, dy: Binding, w: GpuWeight, M: number, o: { beta?: number; alpha?: number } = {}): void {
  const { v, grid } = matmulPlan(rec.ctx, M, w.cols);
  rec.dispatch(
    KERNELS.linearBwd(v, w.format),
    matmulParams(M, w.cols, w.rows, w.rows, 0, w.cols, o, w),
    [dy, dx, dummyBuffer(rec.ctx), ...w.buffers],
    grid,
  );
}
