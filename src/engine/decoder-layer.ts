// One decoder layer recorded as GPU work, forward and backward, for every architecture of
// formats/architectures.ts (the optional pieces in brackets are there when the layer has those norms):
//   xn1 = rmsnorm(x);  q,k,v = proj(xn1) (+bias) (+LoRA);  [q, k = qNorm(q), kNorm(k) per head];  rope(q, k)
//   o = attention(q, k, v) (causal, or a sliding window; scores optionally soft-capped)
//   hMid = x + [attnOut](o_proj(o));  xn2 = rmsnorm(hMid);  a = act(gate(xn2)) * up(xn2)
//   out = hMid + [mlpOut](down(a))
// Every norm is an RMSNorm with weight w or (Gemma, Qwen3.5) 1 + w. With an output gate (Qwen3.5) q_proj is twice as
// tall (each head's query rows then its gate rows) and o_proj reads o·sigmoid(gate).
// A linear_attention layer (its weights carry `gdn`) has the Gated DeltaNet mixer (mixers/gated-delta-net.ts)
// in place of attention; the norms, residuals and MLP around it are the same.
// Every projection is a frozen weight (NF4 / f16 / f32) plus, when targeted, LoRA:
//   y += scale · dropout(x) · Aᵀ · Bᵀ
// The backward pass produces the LoRA gradients (accumulated into the flat grads buffer) and the
// gradient of the layer input; only what LoRA needs is computed (no gradient for frozen weights).
// Dispatches: a LoRA projection's base product and its LoRA term are one product forward and (without
// dropout) backward (ops/lora-fused.ts, where the device binds 9 storage buffers); modules sharing an
// input (lora-groups.ts) run their down-projections, dh, dB and dA together without dropout.
// With GpuContext.nf4Decode 'f16-scratch' each product of an NF4 projection is preceded by the decode
// of that weight into the pass's f16 scratch (ops/nf4-decode.ts) and binds the scratch instead: one
// more dispatch per projection use (7 per layer forward, 7 per layer backward where dx is wanted).
import type { GpuContext } from '../gpu/context';
import type { Binding, Recorder } from '../gpu/program';
import { linearFwd, linearBwd, matmul } from '../gpu/ops/matmul';
import type { MatmulOptions } from '../gpu/ops/matmul';
import { rmsnormFwd, rmsnormBwd } from '../gpu/ops/norm';
import { rope } from '../gpu/ops/rope';
import { attentionFwd, attentionBwd, kvAppend } from '../gpu/ops/attention';
import { gluFwd, gluBwd, dropout } from '../gpu/ops/activation';
import { qGateJoin, qGateSplit, sigmoidGateBwd, sigmoidGateFwd } from '../gpu/ops/sigmoid-gate';
import { gdnActsPlan, gdnBackward, gdnForward, gdnLayerDims } from './mixers/gated-delta-net';
import type { GdnActs, GdnLayerDims, GdnProjections, GdnScratch } from './mixers/gated-delta-net';
import type { LayerGenerationCache } from './generation-cache';
import type { ModelConfig } from '../formats/model-config';
import type { GatedActivation } from '../formats/architectures';
import type { GpuLayerWeights } from './gpu-weights';
import type { RopeTables } from '../gpu/ops/rope';
import type { GpuLora } from './gpu-lora';
import { slotBinding } from './gpu-lora';
import type { LoraModule, LoraSettings } from './lora';
import { LORA_MODULES } from './lora';
import { LORA_INPUT_GROUPS, loraGroupWidth, loraScratchFloats, targetedGroup } from './lora-groups';
import { canFuseLoraLinear, loraGroupA, loraGroupDb, loraGroupDh, loraLinearBwd, loraLinearFwd } from '../gpu/ops/lora-fused';
import type { LoraColumns } from '../gpu/ops/lora-fused';
import type { GpuWeight } from '../gpu/weight';
import { Nf4F16Scratch, f16PackedBytes, nf4ScratchElements } from '../gpu/ops/nf4-decode';
import type { PlannedBuffer } from './buffer-plan';
import { SHARED_GROUPS, bytesBuffer } from './buffer-plan';
import type { TokenMixerKind } from '../formats/architectures';
import { LAYER_KINDS, MLP_BLOCK } from '../formats/architectures';
import { QloraError } from '../errors';
import { layerMixer } from '../formats/checkpoint-names';

/** Sizes of one forward pass: B sequences of T rows (M = B·T). */
export interface Dims {
  B: number;
  T: number;
  M: number;
  D: number; // hidden
  Q: number; // heads · head_dim
  KV: number; // kv heads · head_dim
  I: number; // intermediate
  H: number;
  Hkv: number;
  hd: number;
  eps: number;
  scale: number; // 1/√head_dim, or Gemma's query_pre_attn_scalar^-0.5
  wOffset: 0 | 1; // RMSNorm weight used as w (0) or 1 + w (1)
  act: GatedActivation;
  softcap: number; // attention score soft-cap (0 = off)
  qkNorm: boolean; // per-head RMSNorm of q and k before RoPE
  sandwich: boolean; // RMSNorms on the attention and MLP outputs before each residual add
  rotaryDim: number; // leading dims of each q/k head RoPE turns (partial RoPE: fewer than hd)
  outputGate: boolean; // attention output · sigmoid(gate), the gate rows interleaved per head in q_proj
  qOut: number; // q_proj's rows: Q, or 2·Q with the output gate
  gdn: GdnLayerDims | null; // the Gated DeltaNet mixer's sizes when some layer is linear_attention
}

export function dimsOf(cfg: ModelConfig, B: number, T: number): Dims {
  return {
    B, T, M: B * T,
    D: cfg.hiddenSize, Q: cfg.numHeads * cfg.headDim, KV: cfg.numKvHeads * cfg.headDim, I: cfg.intermediateSize,
    H: cfg.numHeads, Hkv: cfg.numKvHeads, hd: cfg.headDim, eps: cfg.rmsNormEps, scale: cfg.attentionScale,
    wOffset: cfg.architecture.normOffset, act: cfg.activation, softcap: cfg.attnLogitSoftcap ?? 0,
    qkNorm: !!cfg.architecture.norms.q, sandwich: !!cfg.architecture.norms.attnOut,
    rotaryDim: cfg.rotaryDim, outputGate: cfg.attentionOutputGate, qOut: (cfg.attentionOutputGate ? 2 : 1) * cfg.numHeads * cfg.headDim,
    gdn: cfg.linearAttention ? gdnLayerDims(cfg.linearAttention) : null,
  };
}

/** Values written before each submit: pos0 (u32, position of row 0) and the dropout seed (u32). */
export interface DynamicInputs {
  pos: GPUBuffer;
  seed: GPUBuffer;
}

/** What the forward pass keeps for the backward pass (or recomputes, with checkpointing); the fields are layerActsPlan's buffer names. */
export interface LayerActs {
  xn1: GPUBuffer; // [M, D]
  rstd1: GPUBuffer; // [M]
  q: GPUBuffer; // [M, Q] after RoPE
  k: GPUBuffer; // [M, KV] after RoPE
  v: GPUBuffer; // [M, KV]
  o: GPUBuffer; // [M, Q] attention output
  lse: GPUBuffer; // [B, H, T]
  hMid: GPUBuffer; // [M, D] residual after attention
  xn2: GPUBuffer; // [M, D]
  rstd2: GPUBuffer; // [M]
  g: GPUBuffer; // [M, I]
  u: GPUBuffer; // [M, I]
  a: GPUBuffer; // [M, I] act(g) * u
  // dropout(x) · Aᵀ: [M, r] per module, or with grouped LoRA (loraGrouped) one [M, G·r] buffer shared
  // by the G targeted modules of a group (lora-groups.ts), module i in columns [i·r, (i+1)·r).
  loraH: Partial<Record<LoraModule, GPUBuffer>>;
  // With q/k norms: the projections before their norm, and the per-head statistics.
  qRaw?: GPUBuffer; // [M, Q]
  kRaw?: GPUBuffer; // [M, KV]
  rstdQ?: GPUBuffer; // [M, H]
  rstdK?: GPUBuffer; // [M, Hkv]
  // With norms on the block outputs: o_proj's and down_proj's outputs before their norm.
  attnRaw?: GPUBuffer; // [M, D]
  rstdAttnOut?: GPUBuffer; // [M]
  mlpRaw?: GPUBuffer; // [M, D]
  rstdMlpOut?: GPUBuffer; // [M]
  // With an output gate: q_proj's output (query and gate halves per head) and o·sigmoid(gate).
  qg?: GPUBuffer; // [M, 2·Q]
  gated?: GPUBuffer; // [M, Q]
  /** A linear_attention layer's Gated DeltaNet activations (gdnActsPlan), set by the pass that allocates them. */
  gdn?: GdnActs;
}

/**
 * Whether the LoRA products of modules sharing an input run together and their activations and
 * gradients are laid out side by side: without dropout (each module has its own mask of x) and where
 * the device binds what the fused linears need (the separate products cannot start at a column block).
 */
export function loraGrouped(ctx: GpuContext, s: LoraSettings): boolean {
  return s.dropout === 0 && canFuseLoraLinear(ctx.limits);
}

/** The memory estimate's groups (MemoryEstimate.breakdown labels) of the kept activations. */
const ACT = { D: 'activations [M, D]', Q: 'activations [M, Q]', KV: 'activations [M, KV]', I: 'activations [M, I]', stats: SHARED_GROUPS.stats, lora: 'LoRA activations [M, r]' };
const BWD = { D: 'backward [M, D]', Q: 'backward [M, Q]', KV: 'backward [M, KV]', I: 'backward [M, I]', stats: ACT.stats };

/** The distinct mixers of a model's layers: what a set of buffers shared by every layer must serve. */
export function modelMixers(cfg: ModelConfig): TokenMixerKind[] {
  return [...new Set(cfg.layerTypes.map((_, i) => layerMixer(cfg, i).kind))];
}

/** The kept activations of the layer skeleton around the mixer: the two norms, the residual after the mixer, the MLP. */
export function blockActsPlan(d: Dims): PlannedBuffer[] {
  const { M, D, I } = d;
  const plan: PlannedBuffer[] = [
    { name: 'xn1', floats: M * D, group: ACT.D }, { name: 'rstd1', floats: M, group: ACT.stats },
    { name: 'hMid', floats: M * D, group: ACT.D }, { name: 'xn2', floats: M * D, group: ACT.D }, { name: 'rstd2', floats: M, group: ACT.stats },
    { name: 'g', floats: M * I, group: ACT.I }, { name: 'u', floats: M * I, group: ACT.I }, { name: 'a', floats: M * I, group: ACT.I },
  ];
  if (d.sandwich) {
    plan.push(
      { name: 'attnRaw', floats: M * D, group: ACT.D }, { name: 'rstdAttnOut', floats: M, group: ACT.stats },
      { name: 'mlpRaw', floats: M * D, group: ACT.D }, { name: 'rstdMlpOut', floats: M, group: ACT.stats },
    );
  }
  return plan;
}

/** The attention mixer's kept activations (LayerActs' q … lse, and with q/k norms the pre-norm projections). */
export function attentionActsPlan(d: Dims): PlannedBuffer[] {
  const { M, Q, KV } = d;
  const plan: PlannedBuffer[] = [
    { name: 'q', floats: M * Q, group: ACT.Q }, { name: 'k', floats: M * KV, group: ACT.KV }, { name: 'v', floats: M * KV, group: ACT.KV },
    { name: 'o', floats: M * Q, group: ACT.Q }, { name: 'lse', floats: d.B * d.H * d.T, group: ACT.stats },
  ];
  if (d.qkNorm) {
    plan.push(
      { name: 'qRaw', floats: M * Q, group: ACT.Q }, { name: 'kRaw', floats: M * KV, group: ACT.KV },
      { name: 'rstdQ', floats: M * d.H, group: ACT.stats }, { name: 'rstdK', floats: M * d.Hkv, group: ACT.stats },
    );
  }
  // With an output gate: q_proj's output (query and gate halves per head) and o·sigmoid(gate).
  if (d.outputGate) plan.push({ name: 'qg', floats: M * d.qOut, group: ACT.Q }, { name: 'gated', floats: M * Q, group: ACT.Q });
  return plan;
}

/** A mixer's kept activations. Each mixer names its buffers apart from the others' (a shared set holds several). */
export function mixerActsPlan(d: Dims, mixer: TokenMixerKind): PlannedBuffer[] {
  if (mixer === 'attention') return attentionActsPlan(d);
  if (!d.gdn) throw new QloraError('CONFIG_INVALID', 'A linear-attention layer needs the config\'s linear-attention settings (linear_num_key_heads, …), and this config has none.');
  return gdnActsPlan(d.gdn, d.B, d.T).map((b) => ({ ...b, name: GDN_ACTS + b.name }));
}

/** Prefix of the Gated DeltaNet's kept activations in a layer's plan (LayerActs.gdn, by their own names). */
const GDN_ACTS = 'gdn.';

const LORA_H = 'lora_h.';

/** LoRA's dropout(x)·Aᵀ: [M, r] per targeted module, or [M, G·r] per input group when grouped (loraGrouped). */
export function loraActsPlan(d: Dims, lora: LoraSettings | null, grouped: boolean, mixers: readonly TokenMixerKind[]): PlannedBuffer[] {
  if (!lora) return [];
  // Only the targets these layers have: all-linear names in_proj_* too, which no attention layer has.
  const has = mixersModules(mixers);
  const targets = lora.targets.filter((m) => has.has(m));
  const groups = grouped ? LORA_INPUT_GROUPS.map((g) => g.filter((m) => targets.includes(m))) : targets.map((m) => [m]);
  return groups.filter((g) => g.length > 0).map((g) => ({ name: LORA_H + g.join('+'), floats: d.M * lora.r * g.length, group: ACT.lora }));
}

/**
 * What the forward pass keeps of one layer (or of every layer, for a set they share): the skeleton's
 * buffers, each of `mixers`' own (a layer's one mixer, or every mixer of the model), and LoRA's.
 */
export function layerActsPlan(d: Dims, lora: LoraSettings | null, grouped: boolean, mixers: readonly TokenMixerKind[]): PlannedBuffer[] {
  return [...blockActsPlan(d), ...[...new Set(mixers)].flatMap((m) => mixerActsPlan(d, m)), ...loraActsPlan(d, lora, grouped, mixers)];
}

/** The projections of layers with these mixers: each mixer's (architectures.ts LAYER_KINDS) and the MLP's. */
function mixersModules(mixers: readonly TokenMixerKind[]): Set<string> {
  const out = new Set<string>(MLP_BLOCK.loraModules);
  for (const kind of Object.values(LAYER_KINDS)) if (mixers.includes(kind.kind)) for (const m of kind.loraModules) out.add(m);
  return out;
}

/** LayerActs over buffers allocated from a layerActsPlan (allocPlan's record: the names are LayerActs' fields). */
export function layerActsOf(bufs: Record<string, GPUBuffer>): LayerActs {
  const acts: Record<string, unknown> = { loraH: {} };
  const loraH: Partial<Record<LoraModule, GPUBuffer>> = {};
  for (const [name, b] of Object.entries(bufs)) {
    if (name.startsWith(LORA_H)) for (const m of name.slice(LORA_H.length).split('+')) loraH[m as LoraModule] = b; // a group shares one
    else if (name.startsWith(GDN_ACTS)) ((acts.gdn ??= {}) as GdnActs)[name.slice(GDN_ACTS.length)] = b;
    else acts[name] = b;
  }
  return { ...acts, loraH } as unknown as LayerActs;
}

/** Backward scratch shared by all layers; the fields are bwdScratchPlan's buffer names. */
export interface BwdScratch {
  dxn: GPUBuffer; // [M, D]
  dO: GPUBuffer; // [M, Q]
  dq: GPUBuffer; // [M, Q]
  dk: GPUBuffer; // [M, KV]
  dv: GPUBuffer; // [M, KV]
  Dsum: GPUBuffer; // [B, H, T]
  da: GPUBuffer; // [M, I]
  dg: GPUBuffer; // [M, I]
  du: GPUBuffer; // [M, I]
  dLoraH: GPUBuffer; // [M, width·r] (lora-groups.ts): dh of one module, or of a group side by side
  loraTmp: GPUBuffer; // loraScratchFloats: dh·A before the dropout mask, or a group's dA / dB gathered
  dqRaw?: GPUBuffer; // [M, Q] with q/k norms: gradient of q before its norm
  dkRaw?: GPUBuffer; // [M, KV]
  dBlockOut?: GPUBuffer; // [M, D] with output norms: gradient of o_proj's / down_proj's output
  dqg?: GPUBuffer; // [M, 2·Q] with an output gate: gradient of q_proj's output
  dGated?: GPUBuffer; // [M, Q] gradient of o·sigmoid(gate)
}

/** The backward scratch of the layer skeleton and LoRA (none without LoRA: only full fine-tuning's estimate has none). */
export function blockBwdPlan(d: Dims, lora: LoraSettings | null): PlannedBuffer[] {
  const { M, D, I } = d;
  const plan: PlannedBuffer[] = [
    { name: 'dxn', floats: M * D, group: BWD.D },
    { name: 'da', floats: M * I, group: BWD.I }, { name: 'dg', floats: M * I, group: BWD.I }, { name: 'du', floats: M * I, group: BWD.I },
  ];
  if (d.sandwich) plan.push({ name: 'dBlockOut', floats: M * D, group: BWD.D });
  if (lora) {
    plan.push(
      { name: 'dLoraH', floats: M * lora.r * loraGroupWidth(lora.targets), group: 'LoRA gradients of a group [M, width·r]' },
      { name: 'loraTmp', floats: loraScratchFloats(M, lora.r, d), group: 'backward LoRA scratch' }, // allocated even without dropout
    );
  }
  return plan;
}

/** The attention mixer's backward scratch. */
export function attentionBwdPlan(d: Dims): PlannedBuffer[] {
  const { M, Q, KV } = d;
  const plan: PlannedBuffer[] = [
    { name: 'dO', floats: M * Q, group: BWD.Q }, { name: 'dq', floats: M * Q, group: BWD.Q },
    { name: 'dk', floats: M * KV, group: BWD.KV }, { name: 'dv', floats: M * KV, group: BWD.KV },
    { name: 'Dsum', floats: d.B * d.H * d.T, group: BWD.stats },
  ];
  if (d.qkNorm) plan.push({ name: 'dqRaw', floats: M * Q, group: BWD.Q }, { name: 'dkRaw', floats: M * KV, group: BWD.KV });
  if (d.outputGate) plan.push({ name: 'dqg', floats: M * d.qOut, group: BWD.Q }, { name: 'dGated', floats: M * Q, group: BWD.Q });
  return plan;
}

/** A mixer's backward scratch, named apart from the other mixers'. */
export function mixerBwdPlan(d: Dims, mixer: TokenMixerKind): PlannedBuffer[] {
  if (mixer === 'attention') return attentionBwdPlan(d);
  return []; // the Gated DeltaNet's backward gradients are in its pass scratch (causal-lm.ts, gdnScratchPlan), which its forward uses too
}

/** The backward scratch every layer shares (BwdScratch's fields): the skeleton's and LoRA's, and each of `mixers`' own. */
export function bwdScratchPlan(d: Dims, lora: LoraSettings | null, mixers: readonly TokenMixerKind[]): PlannedBuffer[] {
  return [...blockBwdPlan(d, lora), ...[...new Set(mixers)].flatMap((m) => mixerBwdPlan(d, m))];
}

/** BwdScratch over buffers allocated from a bwdScratchPlan (allocPlan's record: the names are its fields). */
export function bwdScratchOf(bufs: Record<string, GPUBuffer>): BwdScratch {
  return bufs as unknown as BwdScratch;
}

export interface LayerContext {
  layer: number;
  w: GpuLayerWeights;
  lora: GpuLora | null;
  /** This layer's RoPE (Gemma 3: sliding and full layers have their own). */
  rope: RopeTables;
  /** Keys a query sees on a sliding-window layer; 0 on a full-attention layer. */
  window: number;
  dyn: DynamicInputs;
  /** Dropout on the LoRA input (training only). */
  train: boolean;
  /** Where NF4 projections are decoded to f16 before each product (GpuContext.nf4Decode 'f16-scratch'); absent: in the tiles. */
  nf4Scratch?: Nf4F16Scratch | null;
  /** The Gated DeltaNet scratch (gdnScratchPlan) shared by the pass's linear layers; needed where w.gdn is set. */
  gdn?: GdnScratch | null;
}

/**
 * Weights of the f16 scratch a pass over these layers decodes NF4 projections into (GpuContext.nf4Decode
 * 'f16-scratch'): their largest NF4 projection; 0 when decoding in the tiles or no projection is NF4.
 */
export function nf4ScratchWeights(ctx: GpuContext, layers: readonly GpuLayerWeights[]): number {
  return ctx.nf4Decode === 'f16-scratch' ? nf4ScratchElements(layers.flatMap((l) => Object.values(l.proj))) : 0;
}

const NF4_SCRATCH = 'nf4_f16_scratch';

/** The pass's NF4 → f16 scratch for `weights` weights (ops/nf4-decode.ts: 2 bytes a weight), none for 0. */
export function nf4ScratchPlan(weights: number): PlannedBuffer[] {
  return weights > 0 ? [bytesBuffer(NF4_SCRATCH, f16PackedBytes(weights), 'NF4 projection decoded to f16')] : [];
}

/** The scratch over a pass's buffers allocated with an nf4ScratchPlan among them; null when the plan has none. */
export function nf4ScratchOf(ctx: GpuContext, bufs: Record<string, GPUBuffer>, weights: number): Nf4F16Scratch | null {
  return weights > 0 ? new Nf4F16Scratch(ctx, weights, bufs[NF4_SCRATCH]) : null;
}

/** The weight a product of module m binds: the frozen weight, or its f16 decode (recorded here, just before the product). */
function frozenWeight(rec: Recorder, c: LayerContext, m: LoraModule): GpuWeight {
  const w = layerProj(c, m);
  return c.nf4Scratch ? c.nf4Scratch.decode(rec, w) : w;
}

/** The frozen weight of projection m of this layer (a layer has only its mixer's and the MLP's). */
function layerProj(c: LayerContext, m: LoraModule): GpuWeight {
  const w = c.w.proj[m];
  if (!w) throw new Error(`layer ${c.layer} has no ${m}`);
  return w;
}

/** Dropout stream of one LoRA module: distinct masks per layer and module, like PEFT's nn.Dropout each. */
const dropoutStream = (layer: number, m: LoraModule) => layer * LORA_MODULES.length + LORA_MODULES.indexOf(m) + 1;

function loraDropoutP(c: LayerContext): number {
  return c.train ? (c.lora?.layout.settings.dropout ?? 0) : 0;
}

/** How a LoRA product reads its input x: through this module's dropout mask (applied as x is loaded, never written out), or plainly. */
function loraInputDropout(c: LayerContext, m: LoraModule, operand: 'A' | 'B'): MatmulOptions['dropout'] {
  const p = loraDropoutP(c);
  return p === 0 ? undefined : { operand, p, stream: dropoutStream(c.layer, m), seed: c.dyn.seed };
}

function isGrouped(rec: Recorder, c: LayerContext): boolean {
  return !!c.lora && loraGrouped(rec.ctx, c.lora.layout.settings);
}

/** Where module m's LoRA activations (buffer = acts.loraH[m]) or their gradients (s.dLoraH) are. */
function loraColumns(rec: Recorder, c: LayerContext, m: LoraModule, buffer: GPUBuffer): LoraColumns {
  const r = c.lora!.layout.settings.r;
  if (!isGrouped(rec, c)) return { buffer, ld: r, col: 0 };
  const group = targetedGroup(c.lora!.layout.settings.targets, m);
  return { buffer, ld: group.length * r, col: group.indexOf(m) * r };
}

/** The LoRA activations h = dropout(x) · Aᵀ of the targeted modules among `group` (all reading x [M, in]). */
function loraDownFwd(rec: Recorder, c: LayerContext, acts: LayerActs, group: readonly LoraModule[], x: Binding, M: number): void {
  if (!c.lora) return;
  const { layout, params } = c.lora;
  const r = layout.settings.r;
  const targeted = group.filter((m) => layout.slot(c.layer, m));
  if (targeted.length === 0) return;
  const inF = layerProj(c, targeted[0]).cols;
  const hOf = (m: LoraModule) => {
    const h = acts.loraH[m];
    if (!h) throw new Error(`no LoRA activation buffer for ${m}`);
    return h;
  };
  const aOf = (m: LoraModule) => slotBinding(layout, params, layout.slot(c.layer, m)!, 'A');
  if (isGrouped(rec, c)) {
    loraGroupA(rec, hOf(targeted[0]), x, targeted.map(aOf), M, inF, r);
    return;
  }
  for (const m of targeted) matmul(rec, hOf(m), x, aOf(m), M, r, inF, { transB: true, dropout: loraInputDropout(c, m, 'A') });
}

/**
 * out (+)= x·Wᵀ (+ bias) + scale · h·Bᵀ, h from loraDownFwd; beta = 1 adds to what out holds (the
 * residual stream). One product where the device binds enough buffers, else the base then the LoRA term.
 */
function projectionFwd(rec: Recorder, c: LayerContext, acts: LayerActs | null, m: LoraModule, out: Binding, x: Binding, M: number, beta = 0): void {
  const w = frozenWeight(rec, c, m);
  const slot = c.lora?.layout.slot(c.layer, m);
  if (!slot || !c.lora) {
    linearFwd(rec, out, x, w, M, { bias: c.w.bias[m], beta });
    return;
  }
  const { layout, params } = c.lora;
  const r = layout.settings.r;
  const h = acts?.loraH[m];
  if (!h) throw new Error(`no LoRA activation buffer for ${m}`);
  const B = slotBinding(layout, params, slot, 'B');
  if (canFuseLoraLinear(rec.ctx.limits)) {
    loraLinearFwd(rec, out, x, w, M, loraColumns(rec, c, m, h), B, r, layout.scale, { bias: c.w.bias[m], beta });
    return;
  }
  linearFwd(rec, out, x, w, M, { bias: c.w.bias[m], beta });
  matmul(rec, out, h, B, M, w.rows, r, { transB: true, alpha: layout.scale, beta: 1 });
}

/**
 * Backward of projectionFwd for output gradient dy: LoRA gradients accumulate into grads; dx (when
 * given) receives dy·W (+ the LoRA path), added to what it holds when betaDx = 1.
 */
function projectionBwd(rec: Recorder, c: LayerContext, acts: LayerActs, s: BwdScratch, m: LoraModule, dx: Binding | null, dy: Binding, x: Binding, M: number, betaDx: number): void {
  const w = layerProj(c, m);
  if (dx) linearBwd(rec, dx, dy, frozenWeight(rec, c, m), M, { beta: betaDx });
  const slot = c.lora?.layout.slot(c.layer, m);
  if (!slot || !c.lora) return;
  const { layout, params, grads } = c.lora;
  const r = layout.settings.r;
  const scale = layout.scale;
  const h = acts.loraH[m]!;
  // dB [out, r] += scale · dyᵀ · h
  matmul(rec, slotBinding(layout, grads, slot, 'B'), dy, h, w.rows, r, M, { transA: true, alpha: scale, beta: 1 });
  // dh [M, r] = scale · dy · B
  matmul(rec, s.dLoraH, dy, slotBinding(layout, params, slot, 'B'), M, r, w.rows, { alpha: scale });
  // dA [r, in] += dhᵀ · dropout(x)
  matmul(rec, slotBinding(layout, grads, slot, 'A'), s.dLoraH, x, r, w.cols, M, { transA: true, beta: 1, dropout: loraInputDropout(c, m, 'B') });
  if (!dx) return;
  const p = loraDropoutP(c);
  if (p === 0) {
    matmul(rec, dx, s.dLoraH, slotBinding(layout, params, slot, 'A'), M, w.cols, r, { beta: 1 });
  } else {
    // dx += mask/(1-p) ∘ (dh · A): the same mask as the forward pass, regenerated from the seed.
    matmul(rec, s.loraTmp, s.dLoraH, slotBinding(layout, params, slot, 'A'), M, w.cols, r);
    dropout(rec, dx, s.loraTmp, c.dyn.seed, M * w.cols, p, dropoutStream(c.layer, m), 1);
  }
}

/**
 * Backward of the projections of one input group (LORA_INPUT_GROUPS), dy[m] the output gradient of
 * each: the LoRA gradients accumulate into grads, and dx (when given) receives Σ dy·W + the LoRA paths,
 * added to what it holds when betaDx = 1. With grouped LoRA the group's dB, dh and dA are one product
 * each and every dx product carries its LoRA term; otherwise module by module (projectionBwd).
 */
function groupBwd(rec: Recorder, c: LayerContext, acts: LayerActs, s: BwdScratch, group: readonly LoraModule[], dy: Partial<Record<LoraModule, Binding>>, dx: Binding | null, x: Binding, M: number, betaDx: number): void {
  if (!isGrouped(rec, c)) {
    group.forEach((m, i) => projectionBwd(rec, c, acts, s, m, dx, dy[m]!, x, M, i === 0 ? betaDx : 1));
    return;
  }
  const { layout, params, grads } = c.lora!;
  const r = layout.settings.r;
  const targeted = group.filter((m) => layout.slot(c.layer, m));
  if (targeted.length > 0) {
    const slots = targeted.map((m) => layout.slot(c.layer, m)!);
    const dys = targeted.map((m) => dy[m]!);
    const outs = slots.map((sl) => sl.outF);
    const inF = slots[0].inF;
    const h = acts.loraH[targeted[0]]!;
    // dB [out, r] += scale · dyᵀ · h, the group's slots gathered into one block and back (exact copies)
    gathered(rec, grads, s.loraTmp, slots.map((sl) => [sl.bOffset, sl.outF * r]), (dB) =>
      loraGroupDb(rec, dB, dys, h, outs, M, r, layout.scale, 1));
    // dh [M, G·r] = scale · dy · B, module by module side by side
    loraGroupDh(rec, s.dLoraH, dys, slots.map((sl) => slotBinding(layout, params, sl, 'B')), outs, M, r, layout.scale);
    // dA [G·r, in] += dhᵀ · x
    gathered(rec, grads, s.loraTmp, slots.map((sl) => [sl.aOffset, r * inF]), (dA) =>
      matmul(rec, dA, s.dLoraH, x, targeted.length * r, inF, M, { transA: true, beta: 1 }));
  }
  if (!dx) return;
  group.forEach((m, i) => {
    const w = frozenWeight(rec, c, m);
    const beta = i === 0 ? betaDx : 1;
    const slot = layout.slot(c.layer, m);
    if (slot) loraLinearBwd(rec, dx, dy[m]!, w, M, loraColumns(rec, c, m, s.dLoraH), slotBinding(layout, params, slot, 'A'), r, { beta });
    else linearBwd(rec, dx, dy[m]!, w, M, { beta });
  });
}

/**
 * Runs `product` on the regions [offset, offset + floats) of `buffer` (float units) one after another:
 * in place when there is one, else copied into `scratch` before and back after.
 */
function gathered(rec: Recorder, buffer: GPUBuffer, scratch: GPUBuffer, regions: [number, number][], product: (b: Binding) => void): void {
  const total = regions.reduce((a, [, n]) => a + n, 0);
  if (regions.length === 1) {
    product({ buffer, offset: regions[0][0] * 4, size: total * 4 });
    return;
  }
  if (total * 4 > scratch.size) throw new Error(`LoRA group scratch holds ${scratch.size} bytes, the group needs ${total * 4}`);
  let at = 0;
  for (const [off, n] of regions) {
    rec.copy(buffer, off * 4, scratch, at * 4, n * 4);
    at += n;
  }
  product({ buffer: scratch, offset: 0, size: total * 4 });
  at = 0;
  for (const [off, n] of regions) {
    rec.copy(scratch, at * 4, buffer, off * 4, n * 4);
    at += n;
  }
}

/** KV cache of one layer for generation: [B, capacity, KV] each. */
export interface LayerKvCache {
  k: GPUBuffer;
  v: GPUBuffer;
  capacity: number;
}

/**
 * x [M, D] → out [M, D]. In training (no cache) attention reads this pass's k/v; in generation the
 * rows are appended to the layer's KV cache at dyn.pos and attention reads the cache, and a Gated DeltaNet
 * layer continues its recurrent cache (generation-cache.ts: the cache's kind is the layer's mixer).
 */
export function recordLayerForward(rec: Recorder, c: LayerContext, d: Dims, x: Binding, out: GPUBuffer, acts: LayerActs, generation?: LayerGenerationCache): void {
  const { M } = d;
  const norms = c.w.norms;
  const norm = { wOffset: d.wOffset };
  rmsnormFwd(rec, acts.xn1, acts.rstd1, x, norms.attnIn!, M, d.D, d.eps, norm);
  if (generation && generation.kind !== (c.w.gdn ? 'gated_delta_net' : 'attention')) {
    throw new Error(`layer ${c.layer}: generation gave it a ${generation.kind} cache, which is not its mixer's`);
  }
  if (c.w.gdn) {
    copyBinding(rec, x, acts.hMid, M * d.D);
    const run = generation?.kind === 'gated_delta_net' ? { cache: generation.recurrent } : { scratch: gdnScratch(c) };
    gdnForward(rec, gdnProjections(rec, c, acts, null, M), c.w.gdn, d.gdn!, d.B, d.T, d.eps, acts.xn1, acts.hMid, gdnActs(c, acts), run);
    rec.boundary();
    recordMlpForward(rec, c, d, out, acts);
    return;
  }
  loraDownFwd(rec, c, acts, LORA_INPUT_GROUPS[0], acts.xn1, M);
  // With the output gate q_proj writes query and gate halves to qg and the query halves go on as q.
  const qFwd = (dst: GPUBuffer) => {
    if (!d.outputGate) return projectionFwd(rec, c, acts, 'q_proj', dst, acts.xn1, M);
    projectionFwd(rec, c, acts, 'q_proj', acts.qg!, acts.xn1, M);
    qGateSplit(rec, dst, acts.qg!, M, d.H, d.hd);
  };
  if (d.qkNorm) {
    // q and k are [M, heads·hd] = [M·heads, hd]: one norm row per head.
    qFwd(acts.qRaw!);
    projectionFwd(rec, c, acts, 'k_proj', acts.kRaw!, acts.xn1, M);
    rmsnormFwd(rec, acts.q, acts.rstdQ!, acts.qRaw!, norms.q!, M * d.H, d.hd, d.eps, norm);
    rmsnormFwd(rec, acts.k, acts.rstdK!, acts.kRaw!, norms.k!, M * d.Hkv, d.hd, d.eps, norm);
  } else {
    qFwd(acts.q);
    projectionFwd(rec, c, acts, 'k_proj', acts.k, acts.xn1, M);
  }
  projectionFwd(rec, c, acts, 'v_proj', acts.v, acts.xn1, M);
  rope(rec, acts.q, c.rope, c.dyn.pos, M, d.T, d.H, d.hd, 1, { x: acts.k, heads: d.Hkv }, d.rotaryDim);
  const cache = generation?.kind === 'attention' ? generation.kv : undefined;
  if (cache) {
    kvAppend(rec, cache.k, acts.k, c.dyn.pos, d.B, d.T, d.KV, cache.capacity);
    kvAppend(rec, cache.v, acts.v, c.dyn.pos, d.B, d.T, d.KV, cache.capacity);
  }
  attentionFwd(rec, acts.o, acts.lse, acts.q, cache ? cache.k : acts.k, cache ? cache.v : acts.v, c.dyn.pos, {
    B: d.B, Tq: d.T, H: d.H, Hkv: d.Hkv, d: d.hd, kvRows: cache ? cache.capacity : d.T, scale: d.scale, window: c.window, softcap: d.softcap,
  });
  rec.boundary(); // a submission segment per block (gpu/program.ts)
  copyBinding(rec, x, acts.hMid, M * d.D);
  const oIn = d.outputGate ? acts.gated! : acts.o;
  if (d.outputGate) sigmoidGateFwd(rec, oIn, acts.o, acts.qg!, M, d.H, d.hd);
  loraDownFwd(rec, c, acts, ['o_proj'], oIn, M);
  if (d.sandwich) {
    // hMid = x + attnOut(o_proj(o)): the norm adds its output to the residual copied into hMid.
    projectionFwd(rec, c, acts, 'o_proj', acts.attnRaw!, oIn, M);
    rmsnormFwd(rec, acts.hMid, acts.rstdAttnOut!, acts.attnRaw!, norms.attnOut!, M, d.D, d.eps, { ...norm, beta: 1 });
  } else {
    projectionFwd(rec, c, acts, 'o_proj', acts.hMid, oIn, M, 1);
  }
  recordMlpForward(rec, c, d, out, acts);
}

/** hMid [M, D] (in acts) → out = hMid + [mlpOut](down(act(gate(xn2)) · up(xn2))), xn2 = rmsnorm(hMid). */
function recordMlpForward(rec: Recorder, c: LayerContext, d: Dims, out: GPUBuffer, acts: LayerActs): void {
  const { M } = d;
  const norms = c.w.norms;
  const norm = { wOffset: d.wOffset };
  rmsnormFwd(rec, acts.xn2, acts.rstd2, acts.hMid, norms.mlpIn!, M, d.D, d.eps, norm);
  loraDownFwd(rec, c, acts, ['gate_proj', 'up_proj'], acts.xn2, M);
  projectionFwd(rec, c, acts, 'gate_proj', acts.g, acts.xn2, M);
  projectionFwd(rec, c, acts, 'up_proj', acts.u, acts.xn2, M);
  gluFwd(rec, d.act, acts.a, acts.g, acts.u, M * d.I);
  rec.copy(acts.hMid, 0, out, 0, M * d.D * 4);
  loraDownFwd(rec, c, acts, ['down_proj'], acts.a, M);
  if (d.sandwich) {
    projectionFwd(rec, c, acts, 'down_proj', acts.mlpRaw!, acts.a, M);
    rmsnormFwd(rec, out, acts.rstdMlpOut!, acts.mlpRaw!, norms.mlpOut!, M, d.D, d.eps, { ...norm, beta: 1 });
  } else {
    projectionFwd(rec, c, acts, 'down_proj', out, acts.a, M, 1);
  }
  rec.boundary();
}

function gdnActs(c: LayerContext, acts: LayerActs): GdnActs {
  if (!acts.gdn) throw new Error(`layer ${c.layer} is a linear-attention layer, but its pass allocated no Gated DeltaNet activations`);
  return acts.gdn;
}

function gdnScratch(c: LayerContext): GdnScratch {
  if (!c.gdn) throw new Error(`layer ${c.layer} is a linear-attention layer, but its pass allocated no Gated DeltaNet scratch`);
  return c.gdn;
}

/** The decoder's projections (frozen weight + LoRA, grouped or not) as the Gated DeltaNet mixer calls them. */
function gdnProjections(rec: Recorder, c: LayerContext, acts: LayerActs, s: BwdScratch | null, M: number): GdnProjections {
  return {
    down: (group, x) => loraDownFwd(rec, c, acts, group as LoraModule[], x, M),
    fwd: (m, out, x, beta = 0) => projectionFwd(rec, c, acts, m as LoraModule, out, x, M, beta),
    bwd: (groups, dy, dx, x) => {
      if (!s) throw new Error('a backward projection needs the backward scratch');
      groups.forEach((g, i) => groupBwd(rec, c, acts, s, g as LoraModule[], dy as Partial<Record<LoraModule, Binding>>, dx, x, M, i === 0 ? 0 : 1));
    },
  };
}

function copyBinding(rec: Recorder, src: Binding, dst: GPUBuffer, floats: number): void {
  if ('buffer' in src) rec.copy(src.buffer, src.offset, dst, 0, floats * 4);
  else rec.copy(src, 0, dst, 0, floats * 4);
}

/**
 * dh holds dL/d(out) on entry and dL/d(x) on exit (unless `needInputGrad` is false: the first layer's
 * input gradient would only flow into the frozen embedding).
 */
export function recordLayerBackward(rec: Recorder, c: LayerContext, d: Dims, x: Binding, dh: GPUBuffer, acts: LayerActs, s: BwdScratch, needInputGrad: boolean): void {
  const { M } = d;
  const norms = c.w.norms;
  const off = d.wOffset;
  // MLP: out = hMid + [mlpOut](down(a))
  let dDown: GPUBuffer = dh;
  if (d.sandwich) {
    rmsnormBwd(rec, s.dBlockOut!, dh, acts.mlpRaw!, norms.mlpOut!, acts.rstdMlpOut!, M, d.D, 0, off);
    dDown = s.dBlockOut!;
  }
  groupBwd(rec, c, acts, s, ['down_proj'], { down_proj: dDown }, s.da, acts.a, M, 0);
  gluBwd(rec, d.act, s.dg, s.du, s.da, acts.g, acts.u, M * d.I);
  groupBwd(rec, c, acts, s, ['gate_proj', 'up_proj'], { gate_proj: s.dg, up_proj: s.du }, s.dxn, acts.xn2, M, 0);
  rmsnormBwd(rec, dh, s.dxn, acts.hMid, norms.mlpIn!, acts.rstd2, M, d.D, 1, off); // dh ← dL/d(hMid)
  rec.boundary();
  if (c.w.gdn) {
    // hMid = x + gdn(xn1): dh stays dL/d(hMid) through the mixer's backward, then the norm adds to it.
    gdnBackward(rec, gdnProjections(rec, c, acts, s, M), c.w.gdn, d.gdn!, d.B, d.T, acts.xn1, dh, needInputGrad ? s.dxn : null, gdnActs(c, acts), gdnScratch(c));
    if (needInputGrad) rmsnormBwd(rec, dh, s.dxn, x, norms.attnIn!, acts.rstd1, M, d.D, 1, off); // dh ← dL/dx
    rec.boundary();
    return;
  }
  // Attention: hMid = x + [attnOut](o_proj(o))
  let dAttn: GPUBuffer = dh;
  if (d.sandwich) {
    rmsnormBwd(rec, s.dBlockOut!, dh, acts.attnRaw!, norms.attnOut!, acts.rstdAttnOut!, M, d.D, 0, off);
    dAttn = s.dBlockOut!;
  }
  if (d.outputGate) {
    // o_proj read gated = o·sigmoid(gate): d(gated), then d(o) and the gate halves of d(qg).
    groupBwd(rec, c, acts, s, ['o_proj'], { o_proj: dAttn }, s.dGated!, acts.gated!, M, 0);
    sigmoidGateBwd(rec, s.dO, s.dqg!, s.dGated!, acts.o, acts.qg!, M, d.H, d.hd);
  } else {
    groupBwd(rec, c, acts, s, ['o_proj'], { o_proj: dAttn }, s.dO, acts.o, M, 0);
  }
  attentionBwd(rec, { dq: s.dq, dk: s.dk, dv: s.dv, Dsum: s.Dsum }, s.dO, acts.o, acts.lse, acts.q, acts.k, acts.v, d.B, d.T, d.H, d.Hkv, d.hd, d.scale, { window: c.window, softcap: d.softcap });
  rope(rec, s.dq, c.rope, c.dyn.pos, M, d.T, d.H, d.hd, -1, { x: s.dk, heads: d.Hkv }, d.rotaryDim);
  let dQ: GPUBuffer = s.dq;
  let dK: GPUBuffer = s.dk;
  if (d.qkNorm) {
    rmsnormBwd(rec, s.dqRaw!, s.dq, acts.qRaw!, norms.q!, acts.rstdQ!, M * d.H, d.hd, 0, off);
    rmsnormBwd(rec, s.dkRaw!, s.dk, acts.kRaw!, norms.k!, acts.rstdK!, M * d.Hkv, d.hd, 0, off);
    dQ = s.dqRaw!;
    dK = s.dkRaw!;
  }
  if (d.outputGate) {
    qGateJoin(rec, s.dqg!, dQ, M, d.H, d.hd); // the query halves; sigmoidGateBwd wrote the gate halves
    dQ = s.dqg!;
  }
  const dxn = needInputGrad ? s.dxn : null;
  groupBwd(rec, c, acts, s, ['q_proj', 'k_proj', 'v_proj'], { q_proj: dQ, k_proj: dK, v_proj: s.dv }, dxn, acts.xn1, M, 0);
  if (needInputGrad) rmsnormBwd(rec, dh, s.dxn, x, norms.attnIn!, acts.rstd1, M, d.D, 1, off); // dh ← dL/dx
  rec.boundary();
}
