// Wrappers of shaders/silu_mul_{fwd,bwd}.wgsl and shaders/dropout.wgsl.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { threads } from './common';

export function siluMulFwd(rec: Recorder, a: Binding, g: Binding, u: Binding, n: number): void {
  rec.dispatch(KERNELS.siluMulFwd, new Params().u32(n).u32(0).u32(0).u32(0), [g, u, a], threads(rec.ctx, n));
}

export function siluMulBwd(rec: Recorder, dg: Binding, du: Binding, da: Binding, g: Binding, u: Binding, n: number): void {
  rec.dispatch(KERNELS.siluMulBwd, new Params().u32(n).u32(0).u32(0).u32(0), [da, g, u, dg, du], threads(rec.ctx, n));
}

/** out = beta·out + dropout(x) with mask hash(seed = dyn[0], stream, i); the same call regenerates the mask. */
export function dropout(rec: Recorder, out: Binding, x: Binding, dyn: Binding, n: number, p: number, stream: number, beta = 0): void {
  rec.dispatch(KERNELS.dropout, new Params().u32(n).u32(stream >>> 0).f32(p).f32(beta), [x, out, dyn], threads(rec.ctx, n));
}
