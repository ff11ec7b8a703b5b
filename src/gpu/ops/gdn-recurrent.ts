// Wrapper of shaders/gdn_recurrent_fwd.wgsl: the gated delta rule token by token from a state kept between
// calls — generation's prefill and decode steps of a Gated DeltaNet layer (the chunked gdnFwd serves training,
// where the per-chunk states are the backward's checkpoints; here only the running state is kept).
import type { Binding, Recorder } from '../program';
import { KERNELS } from '../shaders';
import { threads } from './common';
import type { GdnDims } from './gated-delta-rule';
import { gdnLayout, gdnParams } from './gated-delta-rule';

/** The recurrent step reads q, k, v where the chunked kernels do; it has no chunks. */
export type GdnRecurrentDims = Omit<GdnDims, 'C'>;

/** Floats of the state [B, Hv, dk, dv] a sequence batch carries from call to call. */
export function gdnStateFloats(d: GdnRecurrentDims): number {
  return d.B * d.Hv * d.dk * d.dv;
}

/**
 * o [B, T, Hv, dv] = the gated delta rule of q, k, v (in qkv [B, T, stride], q and k l2-normalised) with g, beta
 * (gb [2, B, T, Hv]), continuing `state` [B, Hv, dk, dv] and leaving it after the T-th token. A new sequence
 * starts from a cleared state.
 */
export function gdnRecurrentFwd(rec: Recorder, o: Binding, state: Binding, qkv: Binding, gb: Binding, d: GdnRecurrentDims, opts: { scale?: number } = {}): void {
  const full: GdnDims = { ...d, C: 1 }; // gdnLayout validates the heads and the qkv row; its chunk offsets are unused here
  const p = gdnParams(full, gdnLayout(full), opts.scale ?? 1 / Math.sqrt(d.dk), true);
  rec.dispatch(KERNELS.gdnRecurrentFwd, p, [qkv, gb, state, o], threads(rec.ctx, d.B * d.Hv * d.dv, 64));
}
