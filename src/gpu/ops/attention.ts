// Wrappers of the attention kernels: causal GQA attention forward (training and generation with a
// KV cache) and its backward (training only), optionally over a sliding window and with soft-capped scores.
// Two implementations with the same params and bindings, chosen by the context's matrix back end:
//   subgroup-matrix (and its core-WGSL emulation)  src/gpu/attention/: QKᵀ, P·V and the backward products
//       on tensor cores, f16 operands and f32 accumulation, where the tiling fits the workgroup memory;
//   every other back end (and head_dims whose tiles do not fit)  shaders/attention_*.wgsl, exact f32.
import type { GpuContext } from '../context';
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import type { KernelSpec } from '../program';
import { attentionVariant, chooseAttentionTiles, SUBGROUP_ROWS } from '../attention';
import type { AttentionKernel } from '../attention';
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

/** Query rows (t, g pairs of a KV head's group) per workgroup of the query-tiled kernels. */
const QUERY_TILE = 16;
/** Keys per workgroup of attention_bwd_dkv. */
const KEY_TILE = 16;

/** head_dim chunks of 64 the kernels stream (their DCH); head_dim ≤ 256. */
function headChunks(d: number, H: number, Hkv: number): number {
  if (d < 1 || d > 256) throw new Error(`attention: head_dim ${d} is not supported (expected 1..256)`);
  if (H % Hkv !== 0) throw new Error(`attention: ${H} query heads do not split into groups over ${Hkv} KV heads`);
  return Math.ceil(d / 64);
}

/** Workgroups of the query-tiled kernels: tiles of `tile` (t, g) rows per (b, hk) (QUERY_TILE: the f32 kernels). */
function queryTiles(B: number, Tq: number, H: number, Hkv: number, tile = QUERY_TILE): number {
  return B * Hkv * Math.ceil(((H / Hkv) * Tq) / tile);
}

/** A tensor-core kernel and the rows (queries, or keys for dkv) each workgroup owns, or null: run the f32 one. */
function tensorKernel(ctx: GpuContext, kernel: AttentionKernel, d: number): { spec: KernelSpec; rows: number } | null {
  const backend = ctx.gemmBackend;
  if (backend !== 'subgroup-matrix' && backend !== 'subgroup-matrix-emulated') return null;
  const tiles = chooseAttentionTiles(kernel, d, ctx.gemm.frag, ctx.limits.maxComputeWorkgroupStorageSize);
  if (!tiles || tiles.subgroups * ctx.gemm.subgroupSize > ctx.limits.maxComputeInvocationsPerWorkgroup) return null;
  return { spec: KERNELS.attentionMma(attentionVariant(backend, ctx.gemm.frag, ctx.gemm.subgroupSize), tiles), rows: tiles.subgroups * SUBGROUP_ROWS };
}

/** o, lse ← attention(q, k, v); queries start at position dyn[0]. */
export function attentionFwd(rec: Recorder, o: Binding, lse: Binding, q: Binding, k: Binding, v: Binding, dyn: Binding, a: AttentionDims): void {
  const dch = headChunks(a.d, a.H, a.Hkv);
  const p = new Params().u32(a.B).u32(a.Tq).u32(a.H).u32(a.Hkv).u32(a.d).u32(a.kvRows).f32(a.scale).u32(a.window ?? 0)
    .f32(a.softcap ?? 0).u32(0).u32(0).u32(0);
  const mma = tensorKernel(rec.ctx, 'fwd', a.d);
  const spec = mma?.spec ?? KERNELS.attentionFwd(dch);
  rec.dispatch(spec, p, [q, k, v, o, lse, dyn], perItem(rec.ctx, queryTiles(a.B, a.Tq, a.H, a.Hkv, mma?.rows)));
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
  const dch = headChunks(d, H, Hkv);
  const p = () => new Params().u32(B).u32(T).u32(H).u32(Hkv).u32(d).f32(scale).u32(mask.window ?? 0).f32(mask.softcap ?? 0);
  const dqMma = tensorKernel(rec.ctx, 'dq', d);
  const dkvMma = tensorKernel(rec.ctx, 'dkv', d);
  rec.dispatch(dqMma?.spec ?? KERNELS.attentionBwdDq(dch), p(), [q, k, v, dO, lse, g.Dsum, g.dq], perItem(rec.ctx, queryTiles(B, T, H, Hkv, dqMma?.rows)));
  rec.dispatch(dkvMma?.spec ?? KERNELS.attentionBwdDkv(dch), p(), [q, k, v, dO, lse, g.Dsum, g.dk, g.dv], perItem(rec.ctx, B * Hkv * Math.ceil(T / (dkvMma?.rows ?? KEY_TILE))));
}

/** cache[b, pos0 + t] = src[b*Tq + t] for t < Tq (pos0 = dyn[0]). */
export function kvAppend(rec: Recorder, cache: Binding, src: Binding, dyn: Binding, B: number, Tq: number, width: number, capacity: number): void {
  rec.dispatch(KERNELS.kvAppend, new Params().u32(B).u32(Tq).u32(width).u32(capacity), [src, cache, dyn], threads(rec.ctx, B * Tq * width));
}
