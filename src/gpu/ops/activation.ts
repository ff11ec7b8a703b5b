// Wrappers of shaders/glu_{fwd,bwd}.wgsl (the gated MLP's activation), shaders/logit_softcap.wgsl and
// shaders/dropout.wgsl.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import type { GatedActivation } from '../../formats/architectures';
import { threads } from './common';

/** a = act(g) * u (SwiGLU with silu, GeGLU with gelu_tanh). */
export function gluFwd(rec: Recorder, act: GatedActivation, a: Binding, g: Binding, u: Binding, n: number): void {
  rec.dispatch(KERNELS.gluFwd(act), new Params().u32(n).u32(0).u32(0).u32(0), [g, u, a], threads(rec.ctx, n));
}

export function gluBwd(rec: Recorder, act: GatedActivation, dg: Binding, du: Binding, da: Binding, g: Binding, u: Binding, n: number): void {
  rec.dispatch(KERNELS.gluBwd(act), new Params().u32(n).u32(0).u32(0).u32(0), [da, g, u, dg, du], threads(rec.ctx, n));
}

/** x ← cap·tanh(x / cap) over n values, in place (final logit soft-capping). */
export function logitSoftcap(rec: Recorder, x: Binding, n: number, cap: number): void {
  rec.dispatch(KERNELS.logitSoftcap, new Params().u32(n).f32(cap).u32(0).u32(0), [x], threads(rec.ctx, n));
}

/** out = beta·out + dropout(x) with mask hash(seed = dyn[0], stream, i); the same call regenerates the mask. */
export function dropout(rec: Recorder, out: Binding, x: Binding, dyn: Binding, n: number, p: number, stream: number, beta = 0): void {
  rec.dispatch(KERNELS.dropout, new Params().u32(n).u32(stream >>> 0).f32(p).f32(beta), [x, out, dyn], threads(rec.ctx, n));
}
