// HF config.json -> the model description the engine builds from, validated in one place. Four
// architectures (architectures.ts says what each block is made of): LlamaForCausalLM (Llama 2/3,
// SmolLM2, TinyLlama), Qwen2ForCausalLM, Qwen3ForCausalLM and Gemma3ForCausalLM (text-only Gemma 3).
// Anything the engine would compute differently (another architecture, activation, rope type, a
// sliding window outside Gemma 3) is refused here with CONFIG_INVALID, never approximated.
// Defaults are transformers' config classes' (LlamaConfig, Qwen2Config, Qwen3Config, Gemma3TextConfig).

import { ConfigFields, describeValue, isRecord } from './config-fields';
import { parseQuantizationConfig, type QuantizationConfig } from './quantization-config';
import { computeRopeInvFreq, parseLayerTypeRope, parseRopeConfig, type RopeConfig } from './rope-config';
import type { Architecture, GatedActivation, ModelType, NormRole } from './architectures';
import { ARCHITECTURES, MODEL_TYPE_OF_CLASS, SUPPORTED_MODELS, isModelType } from './architectures';

export type { QuantizationConfig } from './quantization-config';
export type { RopeConfig, RopeScaling } from './rope-config';
export type { ModelType } from './architectures';
export { SUPPORTED_MODELS } from './architectures';

/** Attention of one layer: over every earlier position, or a causal window of `slidingWindow` positions. */
export type LayerType = 'full_attention' | 'sliding_attention';

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
}

/** From `architectures` when set; from `model_type` when it is null or absent (bnb re-saves drop it). */
function detectModelType(config: ConfigFields): ModelType {
  const modelType = config.raw('model_type');
  const architectures = config.raw('architectures');
  if (architectures !== undefined && architectures !== null) {
    if (!Array.isArray(architectures) || architectures.length !== 1 || typeof architectures[0] !== 'string') {
      throw config.fail(
        `"architectures" must name one architecture, found ${describeValue(architectures)}. ${SUPPORTED_MODELS}.`,
      );
    }
    const architecture = architectures[0];
    const expected = Object.prototype.hasOwnProperty.call(MODEL_TYPE_OF_CLASS, architecture)
      ? MODEL_TYPE_OF_CLASS[architecture]
      : undefined;
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
    return expected;
  }
  if (isModelType(modelType)) return modelType;
  throw config.fail(`model_type ${describeValue(modelType)} is not supported. ${SUPPORTED_MODELS}.`);
}

/** Where a family's transformers config class differs in its defaults (each with its reason). */
interface FamilyDefaults {
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly ropeTheta: number;
}

const DEFAULTS: Readonly<Record<ModelType, FamilyDefaults>> = {
  llama: { maxPositionEmbeddings: 2048, tieWordEmbeddings: false, bosTokenId: 1, eosTokenIds: [2], ropeTheta: 10000 }, // LlamaConfig
  qwen2: { maxPositionEmbeddings: 32768, tieWordEmbeddings: false, bosTokenId: null, eosTokenIds: [], ropeTheta: 10000 }, // Qwen2Config
  qwen3: { maxPositionEmbeddings: 32768, tieWordEmbeddings: false, bosTokenId: null, eosTokenIds: [], ropeTheta: 10000 }, // Qwen3Config
  gemma3_text: { maxPositionEmbeddings: 131072, tieWordEmbeddings: true, bosTokenId: 2, eosTokenIds: [1], ropeTheta: 1_000_000 }, // Gemma3TextConfig
};

/** Gemma3TextConfig: rope_local_base_freq's default, the sliding layers' base. */
const GEMMA3_LOCAL_ROPE_THETA = 10_000;
/** Gemma3TextConfig: every sixth layer is full attention when layer_types is not given. */
const GEMMA3_SLIDING_PATTERN = 6;

function parseActivation(config: ConfigFields, modelType: ModelType): GatedActivation {
  // Gemma configs name it hidden_activation (hidden_act is a deprecated alias); the others hidden_act.
  const gemma = modelType === 'gemma3_text';
  const key = gemma && config.has('hidden_activation') ? 'hidden_activation' : 'hidden_act';
  const name = config.string(key, gemma ? 'gelu_pytorch_tanh' : 'silu');
  if (name === 'silu') return 'silu';
  if (name === 'gelu_pytorch_tanh') return 'gelu_tanh';
  throw config.fail(`${key} "${name}" is not supported; the gated MLP takes "silu" (SwiGLU) or "gelu_pytorch_tanh" (GeGLU)`);
}

/**
 * Layer types and window. Llama, Qwen2, Qwen3: full attention everywhere (a config asking for sliding
 * windows is refused rather than computed differently). Gemma 3: `layer_types`, or its default pattern.
 */
function parseLayerTypes(config: ConfigFields, modelType: ModelType, numLayers: number): { layerTypes: LayerType[]; slidingWindow: number | null } {
  const given = config.has('layer_types') ? config.raw('layer_types') : undefined;
  if (given !== undefined) {
    const ok = Array.isArray(given) && given.length === numLayers && given.every((t) => t === 'full_attention' || t === 'sliding_attention');
    if (!ok) {
      throw config.fail(`"layer_types" must list "full_attention" or "sliding_attention" for each of the ${numLayers} layers, found ${describeValue(given)}`);
    }
  }
  if (modelType !== 'gemma3_text') {
    if (config.bool('use_sliding_window', false)) {
      throw config.fail('use_sliding_window is true; sliding-window attention is supported for Gemma 3 only (this model would be computed differently)');
    }
    if (given !== undefined && !(given as string[]).every((t) => t === 'full_attention')) {
      throw config.fail(`"layer_types" must all be "full_attention" for ${modelType}, found ${describeValue(given)}`);
    }
    return { layerTypes: Array(numLayers).fill('full_attention'), slidingWindow: null };
  }
  if (config.bool('use_bidirectional_attention', false)) {
    throw config.fail('use_bidirectional_attention is true (an embedding model); only causal language models are supported');
  }
  const pattern = config.int('sliding_window_pattern', 1, GEMMA3_SLIDING_PATTERN); // the one transformers reads (not _sliding_window_pattern)
  const layerTypes: LayerType[] =
    (given as LayerType[] | undefined) ?? Array.from({ length: numLayers }, (_, i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention'));
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
  const config = new ConfigFields(json, source);
  const modelType = detectModelType(config);
  const architecture = ARCHITECTURES[modelType];
  const defaults = DEFAULTS[modelType];
  const activation = parseActivation(config, modelType);

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
  const { layerTypes, slidingWindow } = parseLayerTypes(config, modelType, numLayers);

  const gemma = modelType === 'gemma3_text';
  const rope = gemma
    ? parseLayerTypeRope(config, { fullTheta: defaults.ropeTheta, slidingTheta: GEMMA3_LOCAL_ROPE_THETA })
    : (() => {
        const one = parseRopeConfig(config, defaults.ropeTheta);
        return { full: one, sliding: one };
      })();
  // Gemma3TextConfig: query_pre_attn_scalar defaults to 256; the others scale by head_dim.
  const attentionScale = gemma ? config.positive('query_pre_attn_scalar', 256) ** -0.5 : headDim ** -0.5;
  // Qwen2 hard-codes bias=True on q/k/v and False on o_proj; the others follow attention_bias.
  const attentionBias = modelType !== 'qwen2' && config.bool('attention_bias', false);
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
    tieWordEmbeddings: config.bool('tie_word_embeddings', defaults.tieWordEmbeddings),
    qkvBias: modelType === 'qwen2' ? true : attentionBias,
    oBias: attentionBias,
    mlpBias: modelType === 'llama' && config.bool('mlp_bias', false),
    activation,
    rope: rope.full,
    ropeSliding: rope.sliding,
    layerTypes,
    slidingWindow,
    attentionScale,
    attnLogitSoftcap: gemma ? optionalPositive(config, 'attn_logit_softcapping') : null,
    finalLogitSoftcap: gemma ? optionalPositive(config, 'final_logit_softcapping') : null,
    bosTokenId: config.tokenId('bos_token_id', defaults.bosTokenId),
    eosTokenIds: config.tokenIds('eos_token_id', defaults.eosTokenIds),
    padTokenId: config.tokenId('pad_token_id', null),
    quantization: parseQuantizationConfig(config),
  };
}

/** The rotary inverse frequencies (length headDim/2) in float64; see rope-config.ts for the numerics. */
export function ropeInvFreq(config: ModelConfig, layerType: LayerType = 'full_attention'): Float64Array {
  return computeRopeInvFreq(config.headDim, layerType === 'sliding_attention' ? config.ropeSliding : config.rope);
}

/** Whether sliding layers need RoPE tables of their own (gpu-weights.ts uploads, memory-estimate.ts counts them). */
export function hasSlidingRope(config: ModelConfig): boolean {
  return config.layerTypes.includes('sliding_attention') && JSON.stringify(config.rope) !== JSON.stringify(config.ropeSliding);
}

/** A norm's weight length: the hidden size, or head_dim for the per-head q/k norms. */
export function normWidth(config: ModelConfig, role: NormRole): number {
  return role === 'q' || role === 'k' ? config.headDim : config.hiddenSize;
}
