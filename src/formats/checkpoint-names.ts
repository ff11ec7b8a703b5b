// Names in a checkpoint and in an adapter, from the architecture record: which projections a layer has
// (its token mixer's, then the MLP's), their module paths as transformers and PEFT name them on the text
// model (`model.layers.N.linear_attn.in_proj_qkv`), and the mapping of a wrapping checkpoint's tensor
// names (`model.language_model.layers.N…`) to those text names, with the tensors a text fine-tuner never
// reads (a vision tower, a multi-token-prediction head) mapped to null so they are not even downloaded.

import { QloraError } from '../errors';
import { LAYER_KINDS, MLP_BLOCK, type TokenMixer, type WrapperLayout } from './architectures';
import type { ModelConfig } from './model-config';

export interface LayerProjection {
  /** The projection's module name: `q_proj`, `in_proj_qkv`, `down_proj`. */
  readonly module: string;
  /** Its path on the text model: `model.layers.3.self_attn.q_proj`. */
  readonly path: string;
}

/** The token mixer of layer `layer` (attention, or Gated DeltaNet for a linear_attention layer). */
export function layerMixer(config: Pick<ModelConfig, 'layerTypes'>, layer: number): TokenMixer {
  const kind = config.layerTypes[layer];
  if (kind === undefined) throw new QloraError('INTERNAL', `layer ${layer} does not exist (the model has ${config.layerTypes.length})`);
  return LAYER_KINDS[kind];
}

/** Every linear projection of a layer, mixer first then MLP, in the order PEFT lists a layer's modules. */
export function layerProjections(config: Pick<ModelConfig, 'layerTypes'>, layer: number): LayerProjection[] {
  const mixer = layerMixer(config, layer);
  return [
    ...mixer.loraModules.map((module) => ({ module, path: `model.layers.${layer}.${mixer.path}.${module}` })),
    ...MLP_BLOCK.loraModules.map((module) => ({ module, path: `model.layers.${layer}.${MLP_BLOCK.path}.${module}` })),
  ];
}

/**
 * PEFT's module path of a projection on the text model (AutoModelForCausalLM), the one adapters are keyed
 * by under `base_model.model.`; refused for a module the layer does not have (q_proj on a linear layer).
 */
export function projectionPath(config: Pick<ModelConfig, 'layerTypes'>, layer: number, module: string): string {
  const found = layerProjections(config, layer).find((p) => p.module === module);
  if (!found) {
    const have = layerProjections(config, layer).map((p) => p.module).join(', ');
    throw new QloraError('ADAPTER_INVALID', `layer ${layer} (${config.layerTypes[layer]}) has no projection "${module}"; it has ${have}.`, { layer, module });
  }
  return found.path;
}

/** An adapter tensor's key as PEFT writes it: `base_model.model.model.layers.0.linear_attn.in_proj_qkv.lora_A.weight`. */
export function adapterKey(config: Pick<ModelConfig, 'layerTypes'>, layer: number, module: string, which: 'A' | 'B'): string {
  return `base_model.model.${projectionPath(config, layer, module)}.lora_${which}.weight`;
}

/** Every adapter key of a model with LoRA on `targets` (module names), layer by layer, A before B. */
export function adapterKeys(config: Pick<ModelConfig, 'layerTypes'>, targets: readonly string[]): string[] {
  return config.layerTypes.flatMap((_, layer) =>
    layerProjections(config, layer)
      .filter((p) => targets.includes(p.module))
      .flatMap((p) => (['A', 'B'] as const).map((which) => `base_model.model.${p.path}.lora_${which}.weight`)),
  );
}

/**
 * The text model's name of a checkpoint tensor: unchanged for a text-only checkpoint; for a wrapping one
 * (`wrapper`), `model.language_model.X` → `model.X`, the ignored parts (vision tower, MTP head) → null,
 * anything else (lm_head.weight) unchanged.
 */
export function textTensorName(wrapper: WrapperLayout | null, stored: string): string | null {
  if (!wrapper) return stored;
  if (stored.startsWith(wrapper.weightPrefix)) return `model.${stored.slice(wrapper.weightPrefix.length)}`;
  if (wrapper.ignoredPrefixes.some((prefix) => stored.startsWith(prefix))) return null;
  return stored;
}
