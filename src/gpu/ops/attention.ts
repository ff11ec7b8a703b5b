// Wrappers of shaders/attention_*.wgsl: causal GQA attention forward (training and generation with a
// KV cache) and its backward (training only), optionally over a sliding window and with soft-capped scores.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { perItem, threads } from './common';

export interface AttentionDims {
  B: number;
  Tq: number; // query rows per sequence
  H: number;
  Hkv: number;
  d: number;
  kvRows: number; // rows per sequence in k/v (T in training; cache capacity in generation)
  scale: number;
  /** Keys each query sees, itself included (sliding-window layers); 0 or absent: all earlier ones. */
  window?: number;
  /** Scores become softcap·tanh(score / softcap); 0 or absent: off. */
  softcap?: number;
}

/** The mask and score options shared by the forward and backward passes. */
export interface AttentionMask {
  window?: number;
  softcap?: number;
}

/** o, lse ← attention(q, k, v); queries start at position dyn[0]. */
export function attentionFwd(rec: Recorder, o: Binding, lse: Binding, q: Binding, k: Binding, v: Binding, dyn: Binding, a: AttentionDims): void {
  if (a.d > 256) throw new Error(`attention: head_dim ${a.d} > 256 is not supported`);
  const p = new Params().u32(a.B).u32(a.Tq).u32(a.H).u32(a.Hkv).u32(a.d).u32(a.kvRows).f32(a.scale).u32(a.window ?? 0)
    .f32(a.softcap ?? 0).u32(0).u32(0).u32(0);
  rec.dispatch(KERNELS.attentionFwd, p, [q, k, v, o, lse, dyn], perItem(rec.ctx, a.B * a.H * a.Tq));
}

export interface AttentionBwdBuffers {
  dq: Binding;
  dk: Binding;
  dv: Binding;
  Dsum: Binding; // scratch [B, H, T]
}

/** dq, dk, dv of causal attention over T positions (pos0 = 0), with the forward pass's mask. */
export function attentionBwd(rec: Recorder, g: AttentionBwdBuffers, dO: Binding, o: Binding, lse: Binding, q: Binding, k: Binding, v: Binding, B: number, T: number, H: number, Hkv: number, d: number, scale: number, mask: AttentionMask = {}): void {
  rec.dispatch(KERNELS.attentionBwdPrep, new Params().u32(B).u32(T).u32(H).u32(d), [dO, o, g.Dsum], threads(rec.ctx, B * H * T));
  const p = () => new Params().u32(B).u32(T).u32(H).u32(Hkv).u32(d).f32(scale).u32(mask.window ?? 0).f32(mask.softcap ?? 0);
  rec.dispatch(KERNELS.attentionBwdDq, p(), [q, k, v, dO, lse, g.Dsum, g.dq], perItem(rec.ctx, B * H * T));
  rec.dispatch(KERNELS.attentionBwdDkv, p(), [q, k, v, dO, lse, g.Dsum, g.dk, g.dv], perItem(rec.ctx, B * Hkv * T));
}

/** cache[b, pos0 + t] = src[b*Tq + t] for t < Tq (pos0 = dyn[0]). */
export function kvAppend(rec: Recorder, cache: Binding, src: Binding, dyn: Binding, B: number, Tq: number, width: number, capacity: number): void {
  rec.dispatch(KERNELS.kvAppend, new Params().u32(B).u32(Tq).u32(width).u32(capacity), [src, cache, dyn], threads(rec.ctx, B * Tq * width));
}
