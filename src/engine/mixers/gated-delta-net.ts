// The Gated DeltaNet token mixer of Qwen3.5's linear_attention layers (transformers' Qwen3_5GatedDeltaNet),
// recorded as GPU work forward and backward. x is the layer input after input_layernorm ([M, D], M = B·T):
//   mixed = in_proj_qkv(x)                                  [M, Ch], Ch = 2·Hk·dk + Hv·dv
//   qkv   = silu(causal depthwise conv1d(mixed))            [M, Ch]: q [Hk, dk] | k [Hk, dk] | v [Hv, dv] per token
//   q, k  ← l2norm per head (in place, eps 1e-6); q is scaled by 1/√dk inside the delta rule
//   gb    = [g | beta]: g = −exp(A_log)·softplus(in_proj_a(x) + dt_bias), beta = sigmoid(in_proj_b(x))   [2, M, Hv]
//   o     = gated delta rule(q, k, v, g, beta), chunks of GDN_CHUNK tokens, state from zero per sequence   [M, Hv·dv]
//   on    = rmsnorm(o)·w·silu(in_proj_z(x)) per value head (the plain weight w)                          [M, Hv·dv]
//   h    += out_proj(on)   (h holds the residual x before the norm)
// In generation (a recurrent cache given) the conv continues the cache's last K − 1 inputs (one token: the step
// kernel; a prompt: the forward from zero history, then its last inputs kept) and the delta rule continues the
// cache's state token by token (gdnRecurrentFwd), so each new token costs the same however long the sequence.
// Every projection is a frozen weight plus LoRA (decoder-layer.ts's projection helpers); the conv weight,
// A_log, dt_bias and the norm weight are frozen and get no gradient. The backward walks the same steps in
// reverse, the delta rule's from the per-chunk states its forward saved (gated-delta-rule.ts).
import type { GpuContext } from '../../gpu/context';
import type { Binding, Recorder } from '../../gpu/program';
import { causalConv1dBwd, causalConv1dFwd, causalConv1dPrefillState, causalConv1dStep } from '../../gpu/ops/causal-conv1d';
import { gdnRecurrentFwd } from '../../gpu/ops/gdn-recurrent';
import { l2normBwd, l2normFwd } from '../../gpu/ops/l2norm';
import type { HeadSpan } from '../../gpu/ops/l2norm';
import { gdnGatesBwd, gdnGatesFwd } from '../../gpu/ops/gdn-gates';
import { gdnBwd, gdnFwd, gdnLayout } from '../../gpu/ops/gated-delta-rule';
import type { GdnDims } from '../../gpu/ops/gated-delta-rule';
import { gatedRmsnormBwd, gatedRmsnormFwd } from '../../gpu/ops/gated-rmsnorm';
import type { LinearAttentionConfig } from '../../formats/linear-attention-config';
import { linearQkvChannels } from '../../formats/linear-attention-config';
import type { PlannedBuffer } from '../buffer-plan';
import { allocPlan } from '../buffer-plan';
import type { LayerRecurrentCache } from '../generation-cache';

/** Tokens per chunk of the delta rule: transformers' torch_chunk_gated_delta_rule uses 64. */
export const GDN_CHUNK = 64;

/** The frozen tensors of the mixer under `model.layers.N.linear_attn.`, besides its projections. */
export const GDN_TENSORS = ['conv1d.weight', 'A_log', 'dt_bias', 'norm.weight'] as const;
export type GdnTensor = (typeof GDN_TENSORS)[number];

/** Shapes of GDN_TENSORS as the checkpoint stores them (conv1d.weight [Ch, 1, K], read as [Ch, K]). */
export function gdnTensorShapes(c: LinearAttentionConfig): Record<GdnTensor, number[]> {
  return {
    'conv1d.weight': [linearQkvChannels(c), 1, c.convKernelDim],
    A_log: [c.numValueHeads],
    dt_bias: [c.numValueHeads],
    'norm.weight': [c.valueHeadDim],
  };
}

/** The mixer's sizes (part of the decoder's Dims when the model has linear-attention layers). */
export interface GdnLayerDims {
  Hk: number;
  Hv: number;
  dk: number;
  dv: number;
  /** Conv kernel width. */
  K: number;
  /** q/k/v channels: 2·Hk·dk + Hv·dv. */
  Ch: number;
  /** Value width Hv·dv: in_proj_z's and the delta rule's output, out_proj's input. */
  Z: number;
}

export function gdnLayerDims(c: LinearAttentionConfig): GdnLayerDims {
  return {
    Hk: c.numKeyHeads, Hv: c.numValueHeads, dk: c.keyHeadDim, dv: c.valueHeadDim, K: c.convKernelDim,
    Ch: linearQkvChannels(c), Z: c.numValueHeads * c.valueHeadDim,
  };
}

/** The delta rule's shape for B sequences of T tokens. */
export function gdnRuleDims(g: GdnLayerDims, B: number, T: number): GdnDims {
  return { B, T, Hk: g.Hk, Hv: g.Hv, dk: g.dk, dv: g.dv, stride: g.Ch, C: GDN_CHUNK };
}

const ACTS = 'linear-attention activations';
const SCRATCH = 'linear-attention scratch';

/** What one linear layer's forward keeps for its backward (per layer in training, shared otherwise). */
export function gdnActsPlan(g: GdnLayerDims, B: number, T: number): PlannedBuffer[] {
  const M = B * T;
  return [
    { name: 'mixed', floats: M * g.Ch, group: ACTS }, // in_proj_qkv's output, the conv's input
    { name: 'qkv', floats: M * g.Ch, group: ACTS }, // after conv + SiLU, q and k L2-normalised
    { name: 'rnorm', floats: M * 2 * g.Hk, group: ACTS }, // 1/‖·‖ of each q and k head
    { name: 'b', floats: M * g.Hv, group: ACTS }, // in_proj_b's output
    { name: 'a', floats: M * g.Hv, group: ACTS }, // in_proj_a's output
    { name: 'gb', floats: 2 * M * g.Hv, group: ACTS }, // [g | beta]
    { name: 'o', floats: M * g.Z, group: ACTS }, // the delta rule's output
    { name: 'saved', floats: gdnLayout(gdnRuleDims(g, B, T)).savedFloats, group: ACTS }, // per-chunk states + v_new
    { name: 'z', floats: M * g.Z, group: ACTS }, // in_proj_z's output
    { name: 'rstd', floats: M * g.Hv, group: ACTS }, // the gated norm's per-head statistics
    { name: 'on', floats: M * g.Z, group: ACTS }, // the gated norm's output, out_proj's input
  ];
}

/**
 * Scratch shared by every linear layer of a pass: the delta rule's work area (forward and backward) and,
 * in training, the backward's gradients.
 */
export function gdnScratchPlan(g: GdnLayerDims, B: number, T: number, train: boolean): PlannedBuffer[] {
  const M = B * T;
  const lay = gdnLayout(gdnRuleDims(g, B, T));
  const plan: PlannedBuffer[] = [{ name: 'work', floats: train ? lay.workFloats : lay.workFwdFloats, group: SCRATCH }];
  if (!train) return plan;
  return plan.concat([
    { name: 'dOn', floats: M * g.Z, group: SCRATCH }, // d(on), from out_proj's backward
    { name: 'dO', floats: M * g.Z, group: SCRATCH }, // d(o)
    { name: 'dz', floats: M * g.Z, group: SCRATCH },
    { name: 'dqkv', floats: M * g.Ch, group: SCRATCH },
    { name: 'dgb', floats: 2 * M * g.Hv, group: SCRATCH },
    { name: 'da', floats: M * g.Hv, group: SCRATCH },
    { name: 'db', floats: M * g.Hv, group: SCRATCH },
    { name: 'dMixed', floats: M * g.Ch, group: SCRATCH },
  ]);
}

export type GdnActs = Record<string, GPUBuffer>;
export type GdnScratch = Record<string, GPUBuffer>;

export const allocGdnActs = (ctx: GpuContext, g: GdnLayerDims, B: number, T: number, label: string): GdnActs => allocPlan(ctx, gdnActsPlan(g, B, T), label);
export const allocGdnScratch = (ctx: GpuContext, g: GdnLayerDims, B: number, T: number, train: boolean, label: string): GdnScratch =>
  allocPlan(ctx, gdnScratchPlan(g, B, T, train), label);

/** The frozen weights the mixer reads (GDN_TENSORS uploaded as f32). */
export type GdnWeights = Readonly<Record<GdnTensor, GPUBuffer>>;

/** The projections the mixer records through, with the decoder's LoRA handling (decoder-layer.ts). */
export interface GdnProjections {
  /** LoRA activations of a group of modules reading x (no-op without LoRA on them). */
  down(group: readonly string[], x: Binding): void;
  /** out (+)= module(x): beta 1 adds to what out holds. */
  fwd(module: string, out: Binding, x: Binding, beta?: number): void;
  /**
   * Backward of the modules of `groups` (each a list reading x), dy by module: LoRA gradients, and
   * dx = Σ dy·W (+ LoRA) when dx is given (overwritten, not added).
   */
  bwd(groups: readonly (readonly string[])[], dy: Readonly<Record<string, Binding>>, dx: Binding | null, x: Binding): void;
}

/** Every projection of the mixer in the groups the decoder runs together (lora-groups.ts: at most three each). */
export const GDN_INPUT_GROUPS = [['in_proj_qkv', 'in_proj_z'], ['in_proj_b', 'in_proj_a']] as const;

function qkSpan(g: GdnLayerDims, M: number): HeadSpan {
  // q's Hk heads then k's Hk heads, adjacent at the start of every qkv row: one span of 2·Hk heads.
  return { rows: M, heads: 2 * g.Hk, D: g.dk, stride: g.Ch, col0: 0 };
}

/**
 * h (+)= the mixer's output for xn [M, D]; h holds the residual on entry (out_proj adds to it). Training and
 * evaluation pass the shared scratch; generation passes its cache instead (one sequence: B = 1; a prompt of
 * T > 1 tokens starts the sequence, T = 1 continues it).
 */
export function gdnForward(rec: Recorder, p: GdnProjections, w: GdnWeights, g: GdnLayerDims, B: number, T: number, eps: number, xn: Binding, h: Binding, a: GdnActs, run: { scratch: GdnScratch } | { cache: LayerRecurrentCache }): void {
  const M = B * T;
  const cache = 'cache' in run ? run.cache : null;
  for (const group of GDN_INPUT_GROUPS) p.down(group, xn);
  p.fwd('in_proj_qkv', a.mixed, xn);
  if (cache && T === 1) {
    causalConv1dStep(rec, a.qkv, cache.conv, a.mixed, w['conv1d.weight'], B, g.Ch, g.K);
  } else {
    causalConv1dFwd(rec, a.qkv, a.mixed, w['conv1d.weight'], B, T, g.Ch, g.K);
    if (cache) causalConv1dPrefillState(rec, cache.conv, a.mixed, B, T, g.Ch, g.K);
  }
  l2normFwd(rec, a.qkv, a.rnorm, qkSpan(g, M));
  p.fwd('in_proj_b', a.b, xn);
  p.fwd('in_proj_a', a.a, xn);
  gdnGatesFwd(rec, a.gb, a.a, a.b, w.A_log, w.dt_bias, M, g.Hv);
  if (cache) gdnRecurrentFwd(rec, a.o, cache.state, a.qkv, a.gb, { B, T, Hk: g.Hk, Hv: g.Hv, dk: g.dk, dv: g.dv, stride: g.Ch });
  else gdnFwd(rec, a.o, a.saved, (run as { scratch: GdnScratch }).scratch.work, a.qkv, a.gb, gdnRuleDims(g, B, T));
  p.fwd('in_proj_z', a.z, xn);
  gatedRmsnormFwd(rec, a.on, a.rstd, a.o, a.z, w['norm.weight'], M * g.Hv, g.dv, eps);
  p.down(['out_proj'], a.on);
  p.fwd('out_proj', h, a.on, 1);
}

/**
 * Backward of gdnForward: dh is d(mixer output); LoRA gradients accumulate and dxn (when given) receives
 * d(xn) (overwritten).
 */
export function gdnBackward(rec: Recorder, p: GdnProjections, w: GdnWeights, g: GdnLayerDims, B: number, T: number, xn: Binding, dh: Binding, dxn: Binding | null, a: GdnActs, s: GdnScratch): void {
  const M = B * T;
  p.bwd([['out_proj']], { out_proj: dh }, s.dOn, a.on);
  gatedRmsnormBwd(rec, s.dO, s.dz, s.dOn, a.o, a.z, w['norm.weight'], a.rstd, M * g.Hv, g.dv);
  gdnBwd(rec, s.dqkv, s.dgb, s.dO, a.qkv, a.gb, a.saved, s.work, gdnRuleDims(g, B, T));
  gdnGatesBwd(rec, s.da, s.db, s.dgb, a.a, a.b, w.A_log, w.dt_bias, M, g.Hv);
  l2normBwd(rec, s.dqkv, a.qkv, a.rnorm, qkSpan(g, M));
  causalConv1dBwd(rec, s.dMixed, s.dqkv, a.mixed, w['conv1d.weight'], B, T, g.Ch, g.K);
  p.bwd(GDN_INPUT_GROUPS, { in_proj_qkv: s.dMixed, in_proj_z: s.dz, in_proj_b: s.db, in_proj_a: s.da }, dxn, xn);
}
