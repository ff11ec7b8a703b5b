// Wrappers of shaders/gdn_{chunk,state}_{fwd,bwd}.wgsl: Gated DeltaNet's gated delta rule over a
// sequence, chunked (C tokens of a chunk solved together, the state carried from chunk to chunk), and its
// backward through the recurrence from the per-chunk states the forward saves. Layouts in gdn_common.wgsl.
import { QloraError } from '../../errors';
import type { GdnShape } from '../../ref/gated-delta-rule';
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { perItem, threads } from './common';

/** The largest chunk the kernels take (their workgroup arrays); transformers uses 64. */
export const GDN_MAX_CHUNK = 64;

/** The reference's shape (value head h reads key head h / (Hv / Hk)) and where q, k, v sit. */
export interface GdnDims extends GdnShape {
  /** Floats per token of the qkv buffer (≥ 2·Hk·dk + Hv·dv; the conv output's width). */
  stride: number;
  /** Tokens per chunk (≤ GDN_MAX_CHUNK). */
  C: number;
}

/** Sizes (f32 elements) and offsets of the scratch `work` and the `saved` buffer. */
export interface GdnLayout {
  N: number;
  uw: number;
  mats: number;
  dstates: number;
  dvn: number;
  xs: number;
  /** `work` floats the forward needs (gam, uw, mats). */
  workFwdFloats: number;
  /** `work` floats the backward needs (all of it). */
  workFloats: number;
  /** Floats of the checkpoints states [B, Hv, N + 1, dk, dv] (gdnStateIndex finds one). */
  statesFloats: number;
  /** Offset of vnew [B, T, Hv, dv] in `saved`. */
  vnew: number;
  /** `saved` floats: states [B, Hv, N + 1, dk, dv] | vnew [B, T, Hv, dv]. */
  savedFloats: number;
}

export function gdnLayout(d: GdnDims): GdnLayout {
  if (d.Hk < 1 || d.Hv % d.Hk !== 0) {
    throw new QloraError('CONFIG_INVALID', `gated delta rule: ${d.Hv} value heads must be a multiple of the ${d.Hk} key heads; check linear_num_value_heads / linear_num_key_heads.`);
  }
  if (!(d.C >= 1 && d.C <= GDN_MAX_CHUNK)) {
    throw new QloraError('INTERNAL', `gated delta rule: chunk of ${d.C} tokens, expected 1..${GDN_MAX_CHUNK}.`);
  }
  if (d.stride < 2 * d.Hk * d.dk + d.Hv * d.dv) {
    throw new QloraError('INTERNAL', `gated delta rule: qkv row of ${d.stride} floats, expected at least 2·${d.Hk}·${d.dk} + ${d.Hv}·${d.dv}.`);
  }
  const N = Math.max(1, Math.ceil(d.T / d.C));
  const W = d.dv + d.dk;
  const gam = d.B * d.Hv * d.T;
  const uw = gam;
  const mats = uw + d.B * d.Hv * d.T * W;
  const dstates = mats + d.B * d.Hv * N * 3 * d.C * d.C;
  const dvn = dstates + d.B * d.Hv * N * d.dk * d.dv;
  const xs = dvn + d.B * d.T * d.Hv * d.dv;
  const workFloats = xs + d.B * d.Hv * d.T * W;
  const statesFloats = d.B * d.Hv * (N + 1) * d.dk * d.dv;
  return { N, uw, mats, dstates, dvn, xs, workFwdFloats: dstates, workFloats, statesFloats, vnew: statesFloats, savedFloats: statesFloats + d.B * d.T * d.Hv * d.dv };
}

/** Index of state element (i, j) of (b, h) at the start of chunk c (c = N: the final state) in `saved`. */
export function gdnStateIndex(d: GdnDims, N: number, b: number, h: number, c: number): number {
  return ((b * d.Hv + h) * (N + 1) + c) * d.dk * d.dv;
}

function params(d: GdnDims, lay: GdnLayout, scale: number, initial: boolean): Params {
  return new Params()
    .u32(d.B).u32(d.T).u32(d.Hk).u32(d.Hv)
    .u32(d.dk).u32(d.dv).u32(d.stride).u32(lay.N)
    .u32(d.C).u32(initial ? 1 : 0).f32(scale).u32(lay.uw)
    .u32(lay.mats).u32(lay.dstates).u32(lay.dvn).u32(lay.xs)
    .u32(lay.vnew).u32(0).u32(0).u32(0);
}

export interface GdnOptions {
  /** q's scale (transformers: 1 / sqrt(dk)). */
  scale?: number;
  /** Start from the state in saved.states[0] (a continued sequence) instead of zero. */
  initialState?: boolean;
}

function chunkFwd(rec: Recorder, work: Binding, qkv: Binding, gb: Binding, d: GdnDims, p: Params, lay: GdnLayout): void {
  rec.dispatch(KERNELS.gdnChunkFwd, p, [qkv, gb, work], perItem(rec.ctx, d.B * d.Hv * lay.N));
}

/**
 * o [B, T, Hv, dv] = gated delta rule of q, k, v (in qkv [B, T, stride]) with g, beta (gb [2, B, T, Hv]).
 * saved (layout.savedFloats) receives the state at every chunk start and the final one (the backward's
 * checkpoints; saved.states[N] for generation) and v_new; work (layout.workFwdFloats at least) is scratch.
 */
export function gdnFwd(rec: Recorder, o: Binding, saved: Binding, work: Binding, qkv: Binding, gb: Binding, d: GdnDims, opts: GdnOptions = {}): void {
  const lay = gdnLayout(d);
  const p = params(d, lay, opts.scale ?? 1 / Math.sqrt(d.dk), opts.initialState ?? false);
  chunkFwd(rec, work, qkv, gb, d, p, lay);
  rec.dispatch(KERNELS.gdnStateFwd, p, [qkv, work, saved, o], threads(rec.ctx, d.B * d.Hv * d.dv, 64));
}

/**
 * dqkv (q, k, v columns of [B, T, stride]; others untouched) and dgb [2, B, T, Hv] from do [B, T, Hv, dv],
 * with `saved` as gdnFwd left it; work (layout.workFloats) is scratch. The chunk-local terms are
 * recomputed (one gdn_chunk_fwd), so `work` need not survive from the forward. The final state gets no gradient.
 */
export function gdnBwd(rec: Recorder, dqkv: Binding, dgb: Binding, dO: Binding, qkv: Binding, gb: Binding, saved: Binding, work: Binding, d: GdnDims, opts: { scale?: number } = {}): void {
  const lay = gdnLayout(d);
  const p = params(d, lay, opts.scale ?? 1 / Math.sqrt(d.dk), false);
  chunkFwd(rec, work, qkv, gb, d, p, lay);
  rec.dispatch(KERNELS.gdnStateBwd, p, [qkv, dO, work], threads(rec.ctx, d.B * d.Hv * d.dv, 64));
  rec.dispatch(KERNELS.gdnChunkBwd, p, [qkv, gb, work, saved, dO, dqkv, dgb], perItem(rec.ctx, d.B * d.Hk * lay.N));
}
