// The base model's weights uploaded to the GPU, plus the RoPE tables (one set per distinct RoPE: Gemma 3's
// sliding and full layers differ); freed together.
import type { GpuContext } from '../gpu/context';
import { uploadBuffer } from '../gpu/context';
import type { GpuWeight, HostWeight } from '../gpu/weight';
import { uploadWeight, destroyWeight } from '../gpu/weight';
import type { RopeTables } from '../gpu/ops/rope';
import type { ModelConfig } from '../formats/model-config';
import { hasSlidingRope, ropeInvFreq } from '../formats/model-config';
import type { NormRole } from '../formats/architectures';
import { bf16ToF32, f16ToF32, f32ToBf16Bits, f32ToF16Bits } from '../formats/half';
import type { HostLayerWeights, HostModelWeights } from './base-weights';
import type { LoraModule } from './lora';
import type { GdnTensor, GdnWeights } from './mixers/gated-delta-net';
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

export function uploadModelWeights(ctx: GpuContext, cfg: ModelConfig, host: HostModelWeights, maxPositions = 4096): GpuModelWeights {
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
