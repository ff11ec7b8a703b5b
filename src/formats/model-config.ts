// HF config.json -> the model description the engine builds from, validated in one place. The families
// and everything that differs between them are the records of architectures.ts; this file reads the
// fields every family shares and asks the record for the rest, so it has no per-family branch.
// Anything the engine would compute differently (another architecture, activation, rope type, a layer
// type its family does not have) is refused here with CONFIG_INVALID, never approximated. A model whose
// layers the decoder cannot compute yet parses (for its description and memory estimate) but is refused
// for training by requireTrainable.

import { QloraError } from '../errors';
import { ConfigFields, describeValue, isRecord } from './config-fields';
import { parseQuantizationConfig, type QuantizationConfig } from './quantization-config';
import { computeRopeInvFreq, parseLayerTypeRope, parseRopeConfig, parseRotaryDim, type RopeConfig } from './rope-config';
import { parseLinearAttention, type LinearAttentionConfig } from './linear-attention-config';
import type { Architecture, GatedActivation, LayerKind, ModelType, NormRole, WrapperLayout } from './architectures';
import { ARCHITECTURES, LAYER_KINDS, MODEL_TYPE_OF_CLASS, isTrainable, MODEL_TYPE_OF_WRAPPER, SUPPORTED_MODELS, isModelType, modelTypeOfWrapperType } from './architectures';

export type { QuantizationConfig } from './quantization-config';
export type { RopeConfig, RopeScaling } from './rope-config';
export type { LinearAttentionConfig } from './linear-attention-config';
export type { ModelType } from './architectures';
export { SUPPORTED_MODELS } from './architectures';

/** The token mixer of one layer: attention over every earlier position or a causal window, or linear attention. */
export type LayerType = LayerKind;

export interface ModelConfig {
  readonly modelType: ModelType;
  /** What the block is made of (architectures.ts). */
  readonly architecture: Architecture;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections: qwen2 always, llama / qwen3 / gemma3 when attention_bias. */
  readonly qkvBias: boolean;
  /** Bias on o_proj: attention_bias (llama, qwen3, gemma3); qwen2 never. */
  readonly oBias: boolean;
  /** Bias on gate/up/down: llama mlp_bias; the others never. */
  readonly mlpBias: boolean;
  readonly activation: GatedActivation;
  /** RoPE of full-attention layers (every layer, for all but Gemma 3). */
  readonly rope: RopeConfig;
  /** RoPE of sliding-window layers; equal to `rope` where a model has one. */
  readonly ropeSliding: RopeConfig;
  readonly layerTypes: readonly LayerType[];
  /** Keys a sliding layer's query sees, itself included (transformers: kv_idx > q_idx - sliding_window). */
  readonly slidingWindow: number | null;
  /** Multiplies q·k: head_dim^-0.5, or query_pre_attn_scalar^-0.5 for Gemma 3. */
  readonly attentionScale: number;
  /** Scores become cap·tanh(score / cap) before the mask (Gemma 2/3 `attn_logit_softcapping`); null: off. */
  readonly attnLogitSoftcap: number | null;
  /** Logits become cap·tanh(logit / cap) (`final_logit_softcapping`); null: off. */
  readonly finalLogitSoftcap: number | null;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly padTokenId: number | null;
  readonly quantization: QuantizationConfig | null;
  /** Leading dims of each q/k head that RoPE rotates: headDim, or less with partial_rotary_factor (Qwen3.5). */
  readonly rotaryDim: number;
  /** Attention output · sigmoid(gate), q_proj holding each head's query rows then its gate rows (Qwen3.5). */
  readonly attentionOutputGate: boolean;
  /** The Gated DeltaNet settings, when a layer is linear_attention. */
  readonly linearAttention: LinearAttentionConfig | null;
  /** The checkpoint wraps the text model (Qwen3_5ForConditionalGeneration): where its text weights are; null for a text-only checkpoint. */
  readonly wrapper: WrapperLayout | null;
}

/** A wrapping checkpoint's text config, checked against the wrapper's model_type and the text model's. */
function unwrap(config: ConfigFields, modelType: ModelType): ConfigFields {
  const wrapper = ARCHITECTURES[modelType].wrapper!;
  const found = config.raw('model_type');
  if (found !== undefined && found !== null && found !== wrapper.modelType) {
    throw config.fail(`architecture "${wrapper.className}" does not match model_type ${describeValue(found)} (expected "${wrapper.modelType}")`);
  }
  const text = config.section(wrapper.textConfigKey);
  if (!text) throw config.fail(`"${wrapper.textConfigKey}" is missing; ${wrapper.className} keeps the text model's settings there`);
  const textType = text.raw('model_type');
  if (textType !== undefined && textType !== null && textType !== modelType) {
    throw text.fail(`"${wrapper.textConfigKey}.model_type" is ${describeValue(textType)}; expected "${modelType}" inside ${wrapper.className}`);
  }
  return text;
}

/**
 * The family, from `architectures` when set and from `model_type` when it is null or absent (bnb re-saves
 * drop it), and the fields of its text model: the file itself, or its text_config for a wrapping layout.
 */
function detectModelType(config: ConfigFields): { modelType: ModelType; text: ConfigFields; wrapper: WrapperLayout | null } {
  const modelType = config.raw('model_type');
  const architectures = config.raw('architectures');
  const wrapped = (type: ModelType) => ({ modelType: type, text: unwrap(config, type), wrapper: ARCHITECTURES[type].wrapper! });
  if (architectures !== undefined && architectures !== null) {
    if (!Array.isArray(architectures) || architectures.length !== 1 || typeof architectures[0] !== 'string') {
      throw config.fail(
        `"architectures" must name one architecture, found ${describeValue(architectures)}. ${SUPPORTED_MODELS}.`,
      );
    }
    const architecture = architectures[0];
    const own = (table: Readonly<Record<string, ModelType>>) => (Object.prototype.hasOwnProperty.call(table, architecture) ? table[architecture] : undefined);
    const wrapperOf = own(MODEL_TYPE_OF_WRAPPER);
    if (wrapperOf) return wrapped(wrapperOf);
    const expected = own(MODEL_TYPE_OF_CLASS);
    if (!expected) {
      throw config.fail(
        `architecture "${architecture}" (model_type ${describeValue(modelType)}) is not supported. ${SUPPORTED_MODELS}.`,
      );
    }
    if (modelType !== undefined && modelType !== null && modelType !== expected) {
      throw config.fail(
        `architecture "${architecture}" does not match model_type ${describeValue(modelType)} (expected "${expected}")`,
      );
    }
    return { modelType: expected, text: config, wrapper: null };
  }
  if (isModelType(modelType)) return { modelType, text: config, wrapper: null };
  const wrapperOf = modelTypeOfWrapperType(modelType);
  if (wrapperOf) return wrapped(wrapperOf);
  throw config.fail(`model_type ${describeValue(modelType)} is not supported. ${SUPPORTED_MODELS}.`);
}

function parseActivation(config: ConfigFields, arch: Architecture): GatedActivation {
  const key = arch.activationKeys.find((k) => config.has(k)) ?? arch.activationKeys[0];
  const name = config.string(key, arch.activationDefault);
  if (name === 'silu') return 'silu';
  if (name === 'gelu_pytorch_tanh') return 'gelu_tanh';
  throw config.fail(`${key} "${name}" is not supported; the gated MLP takes "silu" (SwiGLU) or "gelu_pytorch_tanh" (GeGLU)`);
}

/**
 * Layer types and window: `layer_types` (only the kinds the family has), else the family's pattern, else
 * its one kind everywhere (Llama, Qwen2, Qwen3: full attention; a config asking for sliding windows is
 * refused rather than computed differently).
 */
function parseLayerTypes(config: ConfigFields, arch: Architecture, numLayers: number): { layerTypes: LayerType[]; slidingWindow: number | null } {
  for (const [flag, why] of Object.entries(arch.refusedFlags)) {
    if (config.bool(flag, false)) throw config.fail(`${flag} is true; ${why}`);
  }
  const given = config.has('layer_types') ? config.raw('layer_types') : undefined;
  if (given !== undefined) {
    const kinds = arch.layerKinds.map((k) => `"${k}"`).join(' or ');
    const ok = Array.isArray(given) && given.length === numLayers && given.every((t) => (arch.layerKinds as readonly unknown[]).includes(t));
    const lengthOk = Array.isArray(given) && given.length === numLayers;
    if (!ok && lengthOk && arch.layerKinds.length === 1) {
      throw config.fail(`"layer_types" must all be ${kinds} for ${arch.modelType}, found ${describeValue(given)}`);
    }
    if (!ok) throw config.fail(`"layer_types" must list ${kinds} for each of the ${numLayers} layers of ${arch.modelType}, found ${describeValue(given)}`);
  }
  const pattern = arch.layerPattern;
  const every = pattern ? config.int(pattern.key, 1, pattern.fallback) : 0;
  const layerTypes: LayerType[] =
    (given as LayerType[] | undefined) ??
    Array.from({ length: numLayers }, (_, i) => (!pattern ? arch.layerKinds[0] : (i + 1) % every ? pattern.others : pattern.nth));
  const slidingWindow = layerTypes.includes('sliding_attention') ? config.int('sliding_window', 1, 4096) : null; // Gemma3TextConfig: 4096
  return { layerTypes, slidingWindow };
}

/** A positive number, or null when unset (soft-capping off). */
function optionalPositive(config: ConfigFields, key: string): number | null {
  return config.has(key) ? config.positive(key) : null;
}

export function parseModelConfig(json: unknown, source = 'config.json'): ModelConfig {
  if (!isRecord(json)) {
    throw new ConfigFields({}, source).fail(`expected a JSON object, found ${describeValue(json)}. ${SUPPORTED_MODELS}.`);
  }
  const outer = new ConfigFields(json, source);
  const { modelType, text: config, wrapper } = detectModelType(outer);
  const architecture = ARCHITECTURES[modelType];
  const defaults = architecture.defaults;
  // A wrapping checkpoint may state these at its top level only (transformers reads them there too).
  const either = (key: string) => (config.has(key) || !wrapper ? config : outer.has(key) ? outer : config);
  const activation = parseActivation(config, architecture);

  const hiddenSize = config.int('hidden_size', 1);
  const numHeads = config.int('num_attention_heads', 1);
  const numKvHeads = config.int('num_key_value_heads', 1, numHeads); // absent: plain multi-head attention
  if (numHeads % numKvHeads !== 0) {
    throw config.fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  }
  if (!config.has('head_dim') && hiddenSize % numHeads !== 0) {
    throw config.fail(
      `hidden_size (${hiddenSize}) must be divisible by num_attention_heads (${numHeads}) when head_dim is not set`,
    );
  }
  const headDim = config.int('head_dim', 1, hiddenSize / numHeads); // transformers: hidden_size // num_attention_heads
  if (headDim % 2 !== 0) throw config.fail(`head_dim must be even (rotary embeddings rotate pairs), found ${headDim}`);
  const numLayers = config.int('num_hidden_layers', 1);
  const { layerTypes, slidingWindow } = parseLayerTypes(config, architecture, numLayers);

  const partial = architecture.partialRotaryDefault;
  const rope =
    architecture.rope === 'per_layer_type'
      ? parseLayerTypeRope(config, { fullTheta: defaults.ropeTheta, slidingTheta: architecture.localRopeTheta ?? defaults.ropeTheta })
      : (() => {
          const one = parseRopeConfig(config, defaults.ropeTheta, partial !== undefined);
          return { full: one, sliding: one };
        })();
  const scalar = architecture.queryPreAttnScalarDefault;
  const attentionScale = scalar !== undefined ? config.positive('query_pre_attn_scalar', scalar) ** -0.5 : headDim ** -0.5;
  const attentionBias = config.bool('attention_bias', false);
  const hasLinear = layerTypes.some((t) => LAYER_KINDS[t].kind === 'gated_delta_net');
  return {
    modelType,
    architecture,
    vocabSize: config.int('vocab_size', 1),
    hiddenSize,
    intermediateSize: config.int('intermediate_size', 1),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: config.positive('rms_norm_eps', 1e-6), // every family's default
    maxPositionEmbeddings: config.int('max_position_embeddings', 1, defaults.maxPositionEmbeddings),
    tieWordEmbeddings: either('tie_word_embeddings').bool('tie_word_embeddings', defaults.tieWordEmbeddings),
    qkvBias: architecture.bias.qkv === 'always' || attentionBias,
    oBias: architecture.bias.o === 'attention_bias' && attentionBias,
    mlpBias: architecture.bias.mlp === 'mlp_bias' && config.bool('mlp_bias', false),
    activation,
    rope: rope.full,
    ropeSliding: rope.sliding,
    layerTypes,
    slidingWindow,
    attentionScale,
    attnLogitSoftcap: architecture.softcaps ? optionalPositive(config, 'attn_logit_softcapping') : null,
    finalLogitSoftcap: architecture.softcaps ? optionalPositive(config, 'final_logit_softcapping') : null,
    bosTokenId: either('bos_token_id').tokenId('bos_token_id', defaults.bosTokenId),
    eosTokenIds: either('eos_token_id').tokenIds('eos_token_id', defaults.eosTokenIds),
    padTokenId: either('pad_token_id').tokenId('pad_token_id', null),
    quantization: parseQuantizationConfig(outer),
    rotaryDim: partial !== undefined ? parseRotaryDim(config, headDim, partial) : headDim,
    attentionOutputGate: architecture.attentionOutputGate,
    linearAttention: hasLinear ? parseLinearAttention(config) : null,
    wrapper,
  };
}

/**
 * Refuses, before any weight is read, a model with a layer the decoder cannot compute yet (Qwen3.5's
 * Gated DeltaNet layers), instead of failing deeper in. `where` names the model for the message.
 */
export function requireTrainable(config: ModelConfig, where: string): void {
  const missing = [...new Set(config.layerTypes)].filter((t) => !LAYER_KINDS[t].trainable);
  if (!missing.length) return;
  const layers = config.layerTypes.flatMap((t, i) => (missing.includes(t) ? [i] : []));
  const mixer = LAYER_KINDS[missing[0]];
  throw new QloraError(
    'CONFIG_INVALID',
    `${where}: ${config.architecture.className} has ${missing.join(', ')} layers (${layers.length} of ${config.numLayers}: ${layers.slice(0, 8).join(', ')}${layers.length > 8 ? ', …' : ''}); ` +
      `${mixer.missing ?? 'they are not supported'}, so it cannot be trained yet. Choose a model whose layers are all attention (${
        Object.values(ARCHITECTURES).filter(isTrainable).map((a) => a.className).join(', ')
      }).`,
    { layerTypes: missing },
  );
}

/** The rotary inverse frequencies (length rotaryDim/2: headDim/2 unless RoPE is partial) in float64; see rope-config.ts for the numerics. */
export function ropeInvFreq(config: ModelConfig, layerType: LayerType = 'full_attention'): Float64Array {
  return computeRopeInvFreq(config.rotaryDim, layerType === 'sliding_attention' ? config.ropeSliding : config.rope);
}

/** Whether sliding layers need RoPE tables of their own (gpu-weights.ts uploads, memory-estimate.ts counts them). */
export function hasSlidingRope(config: ModelConfig): boolean {
  return config.layerTypes.includes('sliding_attention') && JSON.stringify(config.rope) !== JSON.stringify(config.ropeSliding);
}

/** A norm's weight length: the hidden size, or head_dim for the per-head q/k norms. */
export function normWidth(config: ModelConfig, role: NormRole): number {
  return role === 'q' || role === 'k' ? config.headDim : config.hiddenSize;
}
