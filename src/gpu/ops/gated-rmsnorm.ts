// Wrappers of shaders/gated_rmsnorm_{fwd,bwd}.wgsl: Gated DeltaNet's output norm rmsnorm(x)·w·silu(z) per value head.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { threads } from './common';

/** y [rows, D] = rmsnorm(x)·w·silu(z); rstd [rows] kept for the backward. */
export function gatedRmsnormFwd(rec: Recorder, y: Binding, rstd: Binding, x: Binding, z: Binding, w: Binding, rows: number, D: number, eps: number): void {
  rec.dispatch(KERNELS.gatedRmsnormFwd, new Params().u32(rows).u32(D).f32(eps).u32(0), [x, z, w, y, rstd], threads(rec.ctx, rows));
}

/** dx and dz [rows, D] from dy (no dw: the norm weight is frozen). */
export function gatedRmsnormBwd(rec: Recorder, dx: Binding, dz: Binding, dy: Binding, x: Binding, z: Binding, w: Binding, rstd: Binding, rows: number, D: number): void {
  rec.dispatch(KERNELS.gatedRmsnormBwd, new Params().u32(rows).u32(D).f32(0).u32(0), [dy, x, z, w, rstd, dx, dz], threads(rec.ctx, rows));
}
