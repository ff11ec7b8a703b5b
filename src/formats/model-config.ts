// HF config.json -> the model description the engine builds from, validated in one place. Two
// architectures: LlamaForCausalLM (Llama 2/3, SmolLM2, TinyLlama) and Qwen2ForCausalLM (the same block
// with q/k/v biases). Anything the engine would compute differently (another architecture, activation,
// rope type, sliding window) is refused here with CONFIG_INVALID, never approximated.
// Defaults are transformers' (LlamaConfig / Qwen2Config), each with its reason on the line.

import { ConfigFields, describeValue, isRecord } from './config-fields';
import { parseQuantizationConfig, type QuantizationConfig } from './quantization-config';
import { computeRopeInvFreq, parseRopeConfig, type RopeConfig } from './rope-config';

export type { QuantizationConfig } from './quantization-config';
export type { RopeConfig, RopeScaling } from './rope-config';

export type ModelType = 'llama' | 'qwen2';

export interface ModelConfig {
  readonly modelType: ModelType;
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
  /** Bias on q/k/v projections: qwen2 always, llama when attention_bias. */
  readonly qkvBias: boolean;
  /** Bias on o_proj: llama attention_bias; qwen2 never. */
  readonly oBias: boolean;
  /** Bias on gate/up/down: llama mlp_bias; qwen2 never. */
  readonly mlpBias: boolean;
  readonly rope: RopeConfig;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly padTokenId: number | null;
  readonly quantization: QuantizationConfig | null;
}

export const SUPPORTED_MODELS = 'Supported: LlamaForCausalLM (llama), Qwen2ForCausalLM (qwen2)';

const MODEL_TYPE_OF_ARCHITECTURE: Readonly<Record<string, ModelType>> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
};

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
    const expected = Object.prototype.hasOwnProperty.call(MODEL_TYPE_OF_ARCHITECTURE, architecture)
      ? MODEL_TYPE_OF_ARCHITECTURE[architecture]
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
  if (modelType === 'llama' || modelType === 'qwen2') return modelType;
  throw config.fail(`model_type ${describeValue(modelType)} is not supported. ${SUPPORTED_MODELS}.`);
}

/** The engine has no sliding-window attention: any layer using it would be computed wrongly. */
function refuseSlidingWindow(config: ConfigFields): void {
  if (config.bool('use_sliding_window', false)) {
    throw config.fail('use_sliding_window is true; sliding-window attention is not supported (only full attention)');
  }
  if (!config.has('layer_types')) return;
  const layerTypes = config.raw('layer_types');
  if (!Array.isArray(layerTypes) || !layerTypes.every((t) => t === 'full_attention')) {
    throw config.fail(`"layer_types" must all be "full_attention", found ${describeValue(layerTypes)}`);
  }
}

export function parseModelConfig(json: unknown, source = 'config.json'): ModelConfig {
  if (!isRecord(json)) {
    throw new ConfigFields({}, source).fail(`expected a JSON object, found ${describeValue(json)}. ${SUPPORTED_MODELS}.`);
  }
  const config = new ConfigFields(json, source);
  const modelType = detectModelType(config);
  const isLlama = modelType === 'llama';

  const hiddenAct = config.string('hidden_act', 'silu');
  if (hiddenAct !== 'silu') throw config.fail(`hidden_act "${hiddenAct}" is not supported; the MLP is SwiGLU with "silu"`);
  refuseSlidingWindow(config);

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

  const attentionBias = isLlama && config.bool('attention_bias', false);
  return {
    modelType,
    vocabSize: config.int('vocab_size', 1),
    hiddenSize,
    intermediateSize: config.int('intermediate_size', 1),
    numLayers: config.int('num_hidden_layers', 1),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: config.positive('rms_norm_eps', 1e-6), // LlamaConfig and Qwen2Config default
    maxPositionEmbeddings: config.int('max_position_embeddings', 1, isLlama ? 2048 : 32768), // per-class defaults
    tieWordEmbeddings: config.bool('tie_word_embeddings', false), // both classes default to untied
    qkvBias: isLlama ? attentionBias : true, // Qwen2 hard-codes bias=True on q/k/v
    oBias: attentionBias, // Qwen2 hard-codes bias=False on o_proj
    mlpBias: isLlama && config.bool('mlp_bias', false),
    rope: parseRopeConfig(config),
    bosTokenId: config.tokenId('bos_token_id', isLlama ? 1 : null), // LlamaConfig: 1; Qwen2Config: unset
    eosTokenIds: config.tokenIds('eos_token_id', isLlama ? [2] : []), // LlamaConfig: 2; Qwen2Config: unset
    padTokenId: config.tokenId('pad_token_id', null),
    quantization: parseQuantizationConfig(config),
  };
}

/** The rotary inverse frequencies (length headDim/2) in float64; see rope-config.ts for the numerics. */
export function ropeInvFreq(config: ModelConfig): Float64Array {
  return computeRopeInvFreq(config.headDim, config.rope);
}
