// Wrappers of shaders/reduce_sum.wgsl and shaders/adamw.wgsl.
import type { GpuContext } from '../context';
import { STORAGE } from '../context';
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { threads } from './common';

const CHUNK = 256 * 16;

/** Floats of reduceSum's scratch for a vector of n: one partial sum per chunk. */
export const reduceScratchFloats = (n: number): number => Math.ceil(n / CHUNK);

/** Scratch for reduceSum: partial sums of a vector of n. */
export function reduceScratch(ctx: GpuContext, n: number, label: string): GPUBuffer {
  return ctx.createBuffer(reduceScratchFloats(n) * 4, STORAGE, label);
}

/** out[0] = Σ x (or Σ x²) in two passes through `scratch` (from reduceScratch). */
export function reduceSum(rec: Recorder, out: Binding, x: Binding, n: number, scratch: GPUBuffer, squares: boolean): void {
  const parts = Math.ceil(n / CHUNK);
  rec.dispatch(KERNELS.reduceSum, new Params().u32(n).u32(CHUNK).u32(squares ? 1 : 0).u32(0), [x, scratch], [parts]);
  const chunk2 = Math.ceil(parts / 256) * 256;
  rec.dispatch(KERNELS.reduceSum, new Params().u32(parts).u32(chunk2).u32(0).u32(0), [scratch, out], [1]);
}

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number; // 0 = no clipping
}

/** Floats of the per-step values ahead of the micro-batch loss sums in `stepVals`. */
export const STEP_VALS_HEAD = 4;

/**
 * One AdamW step, applied only when Σg² and the k loss sums are finite and `refused` (u32 [1]) is 0,
 * else latching `refused` to 1. `stepVals` holds (lr, 1-β1^t, 1-β2^t, k, loss sums ×k), written
 * before each submit.
 */
export function adamw(rec: Recorder, p: Binding, g: Binding, m: Binding, v: Binding, sumsq: Binding, stepVals: Binding, refused: Binding, n: number, h: AdamWHyper): void {
  const params = new Params().u32(n).f32(h.beta1).f32(h.beta2).f32(h.eps).f32(h.weightDecay).f32(h.maxGradNorm).u32(0).u32(0);
  rec.dispatch(KERNELS.adamw, params, [p, g, m, v, sumsq, stepVals, refused], threads(rec.ctx, n));
}
