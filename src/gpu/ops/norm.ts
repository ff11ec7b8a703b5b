// Wrappers of shaders/rmsnorm_{fwd,bwd}.wgsl.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { perItem } from './common';

/** y = rmsnorm(x) * w; rstd[rows] saved for the backward pass. */
export function rmsnormFwd(rec: Recorder, y: Binding, rstd: Binding, x: Binding, w: Binding, rows: number, D: number, eps: number): void {
  rec.dispatch(KERNELS.rmsnormFwd, new Params().u32(rows).u32(D).f32(eps).u32(0), [x, w, y, rstd], perItem(rec.ctx, rows));
}

/** dx (+)= rmsnorm backward of dy; beta = 1 adds to what dx holds (the residual gradient). */
export function rmsnormBwd(rec: Recorder, dx: Binding, dy: Binding, x: Binding, w: Binding, rstd: Binding, rows: number, D: number, beta = 0): void {
  rec.dispatch(KERNELS.rmsnormBwd, new Params().u32(rows).u32(D).f32(beta).u32(0), [dy, x, w, rstd, dx], perItem(rec.ctx, rows));
}
