// The base model's weights uploaded to the GPU, plus the RoPE tables; freed together.
import type { GpuContext } from '../gpu/context';
import { uploadBuffer } from '../gpu/context';
import type { GpuWeight } from '../gpu/weight';
import { uploadWeight, destroyWeight } from '../gpu/weight';
import type { RopeTables } from '../gpu/ops/rope';
import type { ModelConfig } from '../formats/model-config';
import { ropeInvFreq } from '../formats/model-config';
import type { HostLayerWeights, HostModelWeights } from './base-weights';
import type { LoraModule } from './lora';
import { LORA_MODULES } from './lora';
import { uploadRopeTables } from './rope-table';

export interface GpuLayerWeights {
  inputNorm: GPUBuffer; // [D]
  postNorm: GPUBuffer; // [D]
  proj: Record<LoraModule, GpuWeight>;
  bias: Partial<Record<LoraModule, GPUBuffer>>;
}

export interface GpuModelWeights {
  config: ModelConfig;
  embed: GpuWeight; // [V, D]
  lmHead: GpuWeight; // [V, D], the embedding itself when tied
  finalNorm: GPUBuffer;
  layers: GpuLayerWeights[];
  rope: RopeTables;
  bytes: number;
}

export function uploadLayer(ctx: GpuContext, h: HostLayerWeights, i: number): GpuLayerWeights {
  const proj = {} as Record<LoraModule, GpuWeight>;
  const bias: Partial<Record<LoraModule, GPUBuffer>> = {};
  for (const m of LORA_MODULES) {
    proj[m] = uploadWeight(ctx, h.proj[m], `layers.${i}.${m}`);
    const b = h.bias[m];
    if (b) bias[m] = uploadBuffer(ctx, b, `layers.${i}.${m}.bias`);
  }
  return {
    inputNorm: uploadBuffer(ctx, h.inputNorm, `layers.${i}.input_layernorm`),
    postNorm: uploadBuffer(ctx, h.postNorm, `layers.${i}.post_attention_layernorm`),
    proj,
    bias,
  };
}

export function uploadModelWeights(ctx: GpuContext, cfg: ModelConfig, host: HostModelWeights, maxPositions = 4096): GpuModelWeights {
  const before = ctx.memory.inUse;
  const embed = uploadWeight(ctx, host.embed, 'embed_tokens');
  const lmHead = host.lmHead ? uploadWeight(ctx, host.lmHead, 'lm_head') : embed;
  const layers = host.layers.map((l, i) => uploadLayer(ctx, l, i));
  const rope = uploadRopeTables(ctx, ropeInvFreq(cfg), Math.min(cfg.maxPositionEmbeddings, maxPositions));
  const finalNorm = uploadBuffer(ctx, host.finalNorm, 'norm');
  return { config: cfg, embed, lmHead, finalNorm, layers, rope, bytes: ctx.memory.inUse - before };
}

export function destroyModelWeights(ctx: GpuContext, w: GpuModelWeights): void {
  destroyWeight(ctx, w.embed);
  if (w.lmHead !== w.embed) destroyWeight(ctx, w.lmHead);
  for (const l of w.layers) {
    for (const m of LORA_MODULES) destroyWeight(ctx, l.proj[m]);
    for (const b of Object.values(l.bias)) if (b) ctx.destroyBuffer(b);
    ctx.destroyBuffer(l.inputNorm);
    ctx.destroyBuffer(l.postNorm);
  }
  for (const b of [w.rope.cos, w.rope.sin, w.finalNorm]) ctx.destroyBuffer(b);
}
