// What generation keeps per layer between the prompt and each new token, chosen by the layer's token mixer:
// attention keeps every position's keys and values (a KV cache of `capacity` rows); a Gated DeltaNet layer
// keeps a fixed-size summary instead — the last K − 1 inputs of its causal conv1d and the delta rule's
// recurrent state (transformers' Qwen3_5DynamicCache conv_states / recurrent_states). Declared as buffer
// plans, so what is allocated is what the plan lists.
import type { GpuContext } from '../gpu/context';
import { writeBuffer } from '../gpu/context';
import { LAYER_KINDS } from '../formats/architectures';
import type { ModelConfig } from '../formats/model-config';
import { linearQkvChannels } from '../formats/linear-attention-config';
import { QloraError } from '../errors';
import type { PlannedBuffer } from './buffer-plan';
import type { LayerKvCache } from './decoder-layer';

/** A Gated DeltaNet layer's generation state for `sequences` sequences. */
export interface LayerRecurrentCache {
  /** The conv1d's previous inputs [B, K − 1, conv channels], oldest first (causalConv1dStep's layout). */
  conv: GPUBuffer;
  /** The delta rule's state [B, Hv, dk, dv] (gdnRecurrentFwd's layout). */
  state: GPUBuffer;
}

export type LayerGenerationCache = { kind: 'attention'; kv: LayerKvCache } | { kind: 'gated_delta_net'; recurrent: LayerRecurrentCache };

/** The buffers of layer `layer`'s cache for `sequences` sequences of up to `capacity` positions. */
export function layerCachePlan(cfg: ModelConfig, layer: number, capacity: number, sequences = 1): PlannedBuffer[] {
  const mixer = LAYER_KINDS[cfg.layerTypes[layer]].kind;
  if (mixer === 'attention') {
    const rows = sequences * capacity * cfg.numKvHeads * cfg.headDim;
    return [
      { name: 'k', floats: rows, group: 'generation KV cache' },
      { name: 'v', floats: rows, group: 'generation KV cache' },
    ];
  }
  const la = cfg.linearAttention;
  if (!la) throw new QloraError('INTERNAL', `layer ${layer} is linear_attention but the config has no linear-attention settings.`);
  return [
    { name: 'conv', floats: sequences * (la.convKernelDim - 1) * linearQkvChannels(la), group: 'generation conv state' },
    { name: 'state', floats: sequences * la.numValueHeads * la.keyHeadDim * la.valueHeadDim, group: 'generation recurrent state' },
  ];
}

/** Every layer's cache plan, in layer order. */
export function generationCachePlans(cfg: ModelConfig, capacity: number, sequences = 1): PlannedBuffer[][] {
  return Array.from({ length: cfg.numLayers }, (_, i) => layerCachePlan(cfg, i, capacity, sequences));
}

/**
 * Layer i's cache over buffers allocated from a plan that lists every layer's cache plan with its buffers
 * named `<layer>.<name>` (generate.ts generatorPlan).
 */
export function layerCacheOf(bufs: Readonly<Record<string, GPUBuffer>>, layer: number, capacity: number): LayerGenerationCache {
  const at = (name: string) => bufs[`${layer}.${name}`];
  return at('k') ? { kind: 'attention', kv: { k: at('k'), v: at('v'), capacity } } : { kind: 'gated_delta_net', recurrent: { conv: at('conv'), state: at('state') } };
}

/**
 * Starts new sequences: the recurrent layers' conv history and state back to zero (a KV cache needs nothing:
 * its rows are written at their positions before they are read).
 */
export function resetGenerationCaches(ctx: GpuContext, caches: readonly LayerGenerationCache[]): void {
  for (const c of caches) {
    if (c.kind !== 'gated_delta_net') continue;
    for (const b of [c.recurrent.conv, c.recurrent.state]) writeBuffer(ctx, b, 0, new Float32Array(b.size / 4));
  }
}
