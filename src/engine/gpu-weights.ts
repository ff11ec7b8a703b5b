// The base model's weights uploaded to the GPU, plus the RoPE tables (one set per distinct RoPE: Gemma 3's
// sliding and full layers differ); freed together.
import type { GpuContext } from '../gpu/context';
import { uploadBuffer } from '../gpu/context';
import type { GpuWeight, HostWeight } from '../gpu/weight';
import { uploadWeight, destroyWeight } from '../gpu/weight';
import type { RopeTables } from '../gpu/ops/rope';
import type { ModelConfig } from '../formats/model-config';
import { hasSlidingRope, normWidth, ropeInvFreq } from '../formats/model-config';
import type { NormRole } from '../formats/architectures';
import { bf16ToF32, f16ToF32, f32ToBf16Bits, f32ToF16Bits } from '../formats/half';
import type { HostLayerWeights, HostModelWeights } from './base-weights';
import type { LoraModule } from './lora';
import type { GdnTensor, GdnWeights } from './mixers/gated-delta-net';
import { layerLoraModules, moduleShape } from './lora';
import { layerNorms } from './base-weights';
import { layerMixer } from '../formats/checkpoint-names';
import { GDN_TENSORS, gdnTensorShapes } from './mixers/gated-delta-net';
import type { PlannedBuffer } from './buffer-plan';
import { bytesBuffer } from './buffer-plan';
import { NESTED_BLOCK, NF4_BLOCK } from '../quant/nf4';
import { uploadRopeTables } from './rope-table';

export interface GpuLayerWeights {
  /** The layer's RMSNorm weights by role: [D], or [head_dim] for q and k. */
  norms: Partial<Record<NormRole, GPUBuffer>>;
  /** The layer's projections: its token mixer's and the MLP's. */
  proj: Partial<Record<LoraModule, GpuWeight>>;
  bias: Partial<Record<LoraModule, GPUBuffer>>;
  /** A linear_attention layer's frozen Gated DeltaNet tensors: the decoder runs that mixer where this is set. */
  gdn?: GdnWeights;
}

export interface GpuModelWeights {
  config: ModelConfig;
  embed: GpuWeight; // [V, D]
  /** The embedding's multiplier (1, or Gemma's √hidden rounded to the embedding's dtype). */
  embedScale: number;
  lmHead: GpuWeight; // [V, D], the embedding itself when tied
  finalNorm: GPUBuffer;
  layers: GpuLayerWeights[];
  /** RoPE of full-attention layers. */
  rope: RopeTables;
  /** RoPE of sliding-window layers (the same tables when the model has one RoPE). */
  ropeSliding: RopeTables;
  bytes: number;
}

export function uploadLayer(ctx: GpuContext, h: HostLayerWeights, i: number): GpuLayerWeights {
  const proj: Partial<Record<LoraModule, GpuWeight>> = {};
  const bias: Partial<Record<LoraModule, GPUBuffer>> = {};
  for (const [m, w] of Object.entries(h.proj) as [LoraModule, HostWeight][]) {
    proj[m] = uploadWeight(ctx, w, `layers.${i}.${m}`);
    const b = h.bias[m];
    if (b) bias[m] = uploadBuffer(ctx, b, `layers.${i}.${m}.bias`);
  }
  const norms: Partial<Record<NormRole, GPUBuffer>> = {};
  for (const [role, w] of Object.entries(h.norms) as [NormRole, Float32Array][]) norms[role] = uploadBuffer(ctx, w, `layers.${i}.norm.${role}`);
  const gdn = h.gdn
    ? (Object.fromEntries((Object.entries(h.gdn) as [GdnTensor, Float32Array][]).map(([t, v]) => [t, uploadBuffer(ctx, v, `layers.${i}.${t}`)])) as GdnWeights)
    : undefined;
  return { norms, proj, bias, ...(gdn ? { gdn } : {}) };
}

/**
 * transformers multiplies Gemma's embeddings by `embed_scale.to(weight.dtype)`: √hidden rounded to the
 * embedding's dtype (bf16 for the Hub checkpoints: √640 = 25.298 becomes 25.25).
 */
export function embeddingScale(cfg: ModelConfig, format: GpuWeight['format']): number {
  if (!cfg.architecture.scaledEmbedding) return 1;
  const scale = Math.sqrt(cfg.hiddenSize);
  if (format === 'bf16') return bf16ToF32(f32ToBf16Bits(scale));
  if (format === 'f16') return f16ToF32(f32ToF16Bits(scale));
  return Math.fround(scale);
}

/** The RoPE tables a layer uses. */
export function layerRope(w: GpuModelWeights, layer: number): RopeTables {
  return w.config.layerTypes[layer] === 'sliding_attention' ? w.ropeSliding : w.rope;
}

/** Keys a query of this layer sees (0: all earlier ones). */
export function layerWindow(cfg: ModelConfig, layer: number): number {
  return cfg.layerTypes[layer] === 'sliding_attention' ? cfg.slidingWindow ?? 0 : 0;
}

/** uploadModelWeights' default RoPE table rows (the tables are min(max_position_embeddings, this) long). */
export const DEFAULT_MAX_POSITIONS = 4096;

/** How the frozen base is stored on the GPU: the projections' format and the embedding's bytes per element. */
export interface BaseWeightsFormat {
  readonly quant: 'nf4' | 'f16' | 'f32';
  /** 2 for an F16/BF16 embedding and lm_head, 4 for F32 (as the checkpoint stores them). */
  readonly embedDtypeBytes: number;
  /** RoPE table rows at most (uploadModelWeights' maxPositions). */
  readonly maxPositions?: number;
}

/**
 * uploadWeight's buffers of one NF4 projection of n weights, as prepareBaseWeights quantizes it (double
 * quantization): packed codes n/2 bytes, an 8-bit absmax code per 64, an f32 per 256 codes, the 256-entry code map.
 */
export function nf4WeightPlan(name: string, n: number, codesGroup: string, absmaxGroup: string): PlannedBuffer[] {
  const blocks = Math.ceil(n / NF4_BLOCK);
  return [
    bytesBuffer(`${name}.nf4`, Math.ceil(n / 2), codesGroup),
    bytesBuffer(`${name}.absmax_codes`, blocks, absmaxGroup),
    { name: `${name}.nested_absmax`, floats: Math.ceil(blocks / NESTED_BLOCK), group: absmaxGroup },
    { name: `${name}.nested_code`, floats: 256, group: absmaxGroup },
  ];
}

/**
 * Every buffer uploadModelWeights makes for this model stored this way: the projections in `quant`, their
 * biases, the norms the architecture has, the embedding and (untied) lm_head, the RoPE tables (a second
 * set where sliding layers have their own RoPE). The memory estimate sums it; test/memory-estimate.test.ts
 * checks it against the upload of each fixture.
 */
export function baseWeightsPlan(cfg: ModelConfig, f: BaseWeightsFormat): PlannedBuffer[] {
  const { vocabSize: V, hiddenSize: D } = cfg;
  const plan: PlannedBuffer[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const m of layerLoraModules(cfg, i)) {
      const [out, inF] = moduleShape(cfg, m);
      const name = `layers.${i}.${m}`;
      if (f.quant === 'nf4') plan.push(...nf4WeightPlan(name, out * inF, `${m} (NF4 codes)`, `${m} (NF4 absmax)`));
      else plan.push(bytesBuffer(name, out * inF * (f.quant === 'f16' ? 2 : 4), `${m} (${f.quant})`));
      if (hasBias(cfg, m)) plan.push({ name: `${name}.bias`, floats: out, group: 'biases' });
    }
    for (const [role] of layerNorms(cfg, i)) plan.push({ name: `layers.${i}.norm.${role}`, floats: normWidth(cfg, role), group: 'norms' });
    if (cfg.linearAttention && layerMixer(cfg, i).kind === 'gated_delta_net') {
      const shapes = gdnTensorShapes(cfg.linearAttention);
      for (const t of GDN_TENSORS) plan.push({ name: `layers.${i}.${t}`, floats: shapes[t].reduce((a, b) => a * b, 1), group: 'linear-attention conv, decay and norm weights' });
    }
  }
  plan.push({ name: 'norm', floats: D, group: 'norms' });
  plan.push(bytesBuffer('embed_tokens', V * D * f.embedDtypeBytes, 'embedding'));
  if (!cfg.tieWordEmbeddings) plan.push(bytesBuffer('lm_head', V * D * f.embedDtypeBytes, 'lm_head'));
  const rows = Math.min(cfg.maxPositionEmbeddings, f.maxPositions ?? DEFAULT_MAX_POSITIONS);
  const tables = hasSlidingRope(cfg) ? ['rope', 'rope_sliding'] : ['rope'];
  for (const t of tables) {
    const pairs = ropeInvFreq(cfg, t === 'rope' ? 'full_attention' : 'sliding_attention').length;
    plan.push({ name: `${t}.cos`, floats: rows * pairs, group: 'RoPE tables' }, { name: `${t}.sin`, floats: rows * pairs, group: 'RoPE tables' });
  }
  return plan;
}

/** Whether projection m has a bias in this architecture (what prepareLayer of base-weights.ts loads). */
export function hasBias(cfg: ModelConfig, m: LoraModule): boolean {
  if (m === 'q_proj' || m === 'k_proj' || m === 'v_proj') return cfg.qkvBias;
  if (m === 'o_proj') return cfg.oBias;
  return cfg.mlpBias;
}

export function uploadModelWeights(ctx: GpuContext, cfg: ModelConfig, host: HostModelWeights, maxPositions = DEFAULT_MAX_POSITIONS): GpuModelWeights {
  const before = ctx.memory.inUse;
  const embed = uploadWeight(ctx, host.embed, 'embed_tokens');
  const lmHead = host.lmHead ? uploadWeight(ctx, host.lmHead, 'lm_head') : embed;
  const layers = host.layers.map((l, i) => uploadLayer(ctx, l, i));
  const positions = Math.min(cfg.maxPositionEmbeddings, maxPositions);
  const rope = uploadRopeTables(ctx, ropeInvFreq(cfg), positions);
  const ropeSliding = hasSlidingRope(cfg) ? uploadRopeTables(ctx, ropeInvFreq(cfg, 'sliding_attention'), positions) : rope;
  const finalNorm = uploadBuffer(ctx, host.finalNorm, 'norm');
  return {
    config: cfg, embed, embedScale: embeddingScale(cfg, embed.format), lmHead, finalNorm, layers, rope, ropeSliding,
    bytes: ctx.memory.inUse - before,
  };
}

export function destroyModelWeights(ctx: GpuContext, w: GpuModelWeights): void {
  destroyWeight(ctx, w.embed);
  if (w.lmHead !== w.embed) destroyWeight(ctx, w.lmHead);
  for (const l of w.layers) {
    for (const p of Object.values(l.proj)) if (p) destroyWeight(ctx, p);
    for (const b of Object.values(l.gdn ?? {})) ctx.destroyBuffer(b);
    for (const b of Object.values(l.bias)) if (b) ctx.destroyBuffer(b);
    for (const b of Object.values(l.norms)) if (b) ctx.destroyBuffer(b);
  }
  const tables = w.ropeSliding === w.rope ? [w.rope] : [w.rope, w.ropeSliding];
  for (const t of tables) for (const b of [t.cos, t.sin]) ctx.destroyBuffer(b);
  ctx.destroyBuffer(w.finalNorm);
}
