// Wrappers of shaders/rmsnorm_{fwd,bwd}.wgsl.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { perItem } from './common';

/** How a norm uses its weight and output: Gemma's weights are offsets from 1; beta = 1 adds to y. */
export interface RmsnormOptions {
  /** 0: y = x̂·w (Llama, Qwen); 1: y = x̂·(1 + w) (Gemma). */
  wOffset?: 0 | 1;
  /** 1: y += x̂·w (a block output normalized straight into the residual stream). */
  beta?: number;
}

/** y (+)= rmsnorm(x) * w; rstd[rows] saved for the backward pass. */
export function rmsnormFwd(rec: Recorder, y: Binding, rstd: Binding, x: Binding, w: Binding, rows: number, D: number, eps: number, o: RmsnormOptions = {}): void {
  const p = new Params().u32(rows).u32(D).f32(eps).f32(o.beta ?? 0).f32(o.wOffset ?? 0).u32(0).u32(0).u32(0);
  rec.dispatch(KERNELS.rmsnormFwd, p, [x, w, y, rstd], perItem(rec.ctx, rows));
}

/** dx (+)= rmsnorm backward of dy; beta = 1 adds to what dx holds (the residual gradient). */
export function rmsnormBwd(rec: Recorder, dx: Binding, dy: Binding, x: Binding, w: Binding, rstd: Binding, rows: number, D: number, beta = 0, wOffset: 0 | 1 = 0): void {
  rec.dispatch(KERNELS.rmsnormBwd, new Params().u32(rows).u32(D).f32(beta).f32(wOffset), [dy, x, w, rstd, dx], perItem(rec.ctx, rows));
}
