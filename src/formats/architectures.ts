// Everything that differs between the decoder families, as data: one record per architecture, read by
// the config parser (model-config.ts), the weight loaders, the LoRA layout, the exports and the decoder.
// Adding a family is adding a record here when its layers are made of the pieces below; a new piece (a
// token mixer, a norm role) is a new entry in LAYER_KINDS or a new trait with its kernel, never a
// copied decoder or a `model_type` branch elsewhere.
//
// A layer is a skeleton around a token mixer chosen by its layer type (LAYER_KINDS):
//   h = x + mixOut?( mixer(mixIn(x)) )
//   out = h + mlpOut?( down( act(gate(mlpIn(h))) * up(mlpIn(h)) ) )
// where the attention mixer is o_proj(attention(rope(qNorm?(q)), rope(kNorm?(k)), v)) (· sigmoid(gate)
// with an output gate), and every norm is an RMSNorm with the weight used as w (Llama) or 1 + w (Gemma).

export type ModelType = 'llama' | 'qwen2' | 'qwen3' | 'gemma3_text' | 'qwen3_5_text';

/** The RMSNorms of a layer by role; the checkpoint names of each family differ (see `norms`). */
export type NormRole = 'attnIn' | 'attnOut' | 'mlpIn' | 'mlpOut' | 'q' | 'k';
export const NORM_ROLES: readonly NormRole[] = ['attnIn', 'attnOut', 'mlpIn', 'mlpOut', 'q', 'k'];

/** The gated MLP's activation: SwiGLU (silu) or GeGLU (gelu_pytorch_tanh). */
export type GatedActivation = 'silu' | 'gelu_tanh';

/** transformers' `layer_types` entries: the token mixer of each layer. */
export type LayerKind = 'full_attention' | 'sliding_attention' | 'linear_attention';
export const LAYER_KIND_NAMES: readonly LayerKind[] = ['full_attention', 'sliding_attention', 'linear_attention'];

/** What a layer mixes tokens with; the decoder dispatches on this. */
export type TokenMixerKind = 'attention' | 'gated_delta_net';

export interface TokenMixer {
  readonly kind: TokenMixerKind;
  /** The module under `model.layers.N.` that holds the mixer's weights. */
  readonly path: 'self_attn' | 'linear_attn';
  /** Its linear projections, the LoRA targets, in the order PEFT and the adapter layout list them. */
  readonly loraModules: readonly string[];
  /** Whether the engine's decoder computes this mixer; a model with a layer it cannot compute is refused (requireTrainable). */
  readonly trainable: boolean;
  /** One line for the refusal and the README when not trainable. */
  readonly missing?: string;
}

/** Projections of each mixer and of the MLP, in PEFT's order (the LoRA layout and every export follow it). */
export const ATTENTION_PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const;
export const GATED_DELTA_NET_PROJECTIONS = ['in_proj_qkv', 'in_proj_z', 'in_proj_b', 'in_proj_a', 'out_proj'] as const;
export const MLP_PROJECTIONS = ['gate_proj', 'up_proj', 'down_proj'] as const;

const ATTENTION: TokenMixer = {
  kind: 'attention',
  path: 'self_attn',
  loraModules: ATTENTION_PROJECTIONS,
  trainable: true,
};

/** Qwen3.5's Gated DeltaNet (transformers Qwen3_5GatedDeltaNet): conv1d + delta rule + gated RMSNorm. */
const GATED_DELTA_NET: TokenMixer = {
  kind: 'gated_delta_net',
  path: 'linear_attn',
  loraModules: GATED_DELTA_NET_PROJECTIONS,
  trainable: true, // engine/mixers/gated-delta-net.ts; test/golden.test.ts checks it against transformers + PEFT
};

/** The token mixer of each layer type. Sliding attention is attention with a causal window. */
export const LAYER_KINDS: Readonly<Record<LayerKind, TokenMixer>> = {
  full_attention: ATTENTION,
  sliding_attention: ATTENTION,
  linear_attention: GATED_DELTA_NET,
};

/** The MLP every layer ends with: its module and projections (LoRA targets). */
export const MLP_BLOCK = { path: 'mlp', loraModules: MLP_PROJECTIONS } as const;

/** Where a family's transformers config class differs in its defaults. */
export interface FamilyDefaults {
  /** The transformers class these come from (the reason for each value). */
  readonly from: string;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly ropeTheta: number;
}

/**
 * A checkpoint that wraps the text model in a larger one (a vision-language model): its config puts the
 * text model's fields under `textConfigKey`, its text weights under `weightPrefix` instead of `model.`,
 * next to tensors a text fine-tuner never reads (`ignoredPrefixes`: only the text weights are streamed).
 * transformers' AutoModelForCausalLM loads it as the text model, so adapters are keyed as for that.
 */
export interface WrapperLayout {
  readonly className: string;
  readonly modelType: string;
  readonly textConfigKey: string;
  readonly weightPrefix: string;
  readonly ignoredPrefixes: readonly string[];
}

/**
 * Layer types when `layer_types` is absent: every `every`-th layer (1-based) is `nth`, the others
 * `others`, with `every` read from config key `key` (default `fallback`), as the config class does.
 */
export interface LayerPattern {
  readonly key: string;
  readonly fallback: number;
  readonly nth: LayerKind;
  readonly others: LayerKind;
}

export interface Architecture {
  readonly modelType: ModelType;
  /** The transformers class named in `architectures`. */
  readonly className: string;
  /** A wrapping checkpoint layout accepted for this text model (Qwen3.5's vision-language release). */
  readonly wrapper?: WrapperLayout;
  readonly defaults: FamilyDefaults;
  /** Config keys naming the MLP activation, the first one present wins (Gemma: hidden_activation, with hidden_act its deprecated alias). */
  readonly activationKeys: readonly string[];
  readonly activationDefault: 'silu' | 'gelu_pytorch_tanh';
  /** Biases: q/k/v always (Qwen2) or per attention_bias; o_proj never (Qwen2) or per attention_bias; MLP per mlp_bias (Llama) or never. */
  readonly bias: { readonly qkv: 'always' | 'attention_bias'; readonly o: 'never' | 'attention_bias'; readonly mlp: 'never' | 'mlp_bias' };
  /** The layer types this family may have (anything else in `layer_types` is refused). */
  readonly layerKinds: readonly LayerKind[];
  /** Default layer types (absent: every layer is the first of layerKinds). */
  readonly layerPattern?: LayerPattern;
  /** Config flags that would make this family compute something else, refused when true (with the reason). */
  readonly refusedFlags: Readonly<Record<string, string>>;
  /** RoPE: one for every layer, or one per attention layer type (Gemma 3: local base for sliding layers). */
  readonly rope: 'one' | 'per_layer_type';
  /** Gemma3TextConfig's rope_local_base_freq default (per_layer_type only). */
  readonly localRopeTheta?: number;
  /** The share of head_dim that is rotated (partial_rotary_factor) when the config does not say; absent: only full rotation is accepted. */
  readonly partialRotaryDefault?: number;
  /** Scores scaled by query_pre_attn_scalar^-0.5 with this default (Gemma 3); absent: head_dim^-0.5. */
  readonly queryPreAttnScalarDefault?: number;
  /** attn_logit_softcapping / final_logit_softcapping are read (Gemma); otherwise off. */
  readonly softcaps: boolean;
  /** Attention output · sigmoid(gate), the gate rows interleaved per head in q_proj (which is twice as tall). */
  readonly attentionOutputGate: boolean;
  /** Layer norms by role, as the checkpoint names them under `model.layers.N.` (absent: not in the block). */
  readonly norms: Readonly<Partial<Record<NormRole, string>>>;
  /** RMSNorm computes x·rstd·(normOffset + w): 0 for Llama-style norms, 1 for Gemma's `x·(1 + w)` (all norms, the final one too). */
  readonly normOffset: 0 | 1;
  /** Embeddings multiplied by √hidden_size (Gemma), the factor rounded to the embedding's dtype. */
  readonly scaledEmbedding: boolean;
  /**
   * GGUF LoRA adapter export: llama.cpp's architecture name (gguf-py MODEL_ARCH_NAMES) and whether its
   * converter permutes q/k rows (LlamaModel.permute); or why no adapter llama.cpp would load is written.
   */
  readonly gguf: { readonly arch: string; readonly permuteQK: boolean } | { readonly refused: string };
  /** One line for the model list and the README: what this family adds to the Llama block. */
  readonly summary: string;
}

const LLAMA_NORMS = { attnIn: 'input_layernorm', mlpIn: 'post_attention_layernorm' } as const;
const NO_SLIDING = { use_sliding_window: 'sliding-window attention is supported for Gemma 3 only (this model would be computed differently)' };
const QWEN_DEFAULTS = { maxPositionEmbeddings: 32768, tieWordEmbeddings: false, bosTokenId: null, eosTokenIds: [], ropeTheta: 10000 };

export const ARCHITECTURES: Readonly<Record<ModelType, Architecture>> = {
  llama: {
    modelType: 'llama',
    className: 'LlamaForCausalLM',
    defaults: { from: 'LlamaConfig', maxPositionEmbeddings: 2048, tieWordEmbeddings: false, bosTokenId: 1, eosTokenIds: [2], ropeTheta: 10000 },
    activationKeys: ['hidden_act'],
    activationDefault: 'silu',
    bias: { qkv: 'attention_bias', o: 'attention_bias', mlp: 'mlp_bias' },
    layerKinds: ['full_attention'],
    refusedFlags: NO_SLIDING,
    rope: 'one',
    softcaps: false,
    attentionOutputGate: false,
    norms: LLAMA_NORMS,
    normOffset: 0,
    scaledEmbedding: false,
    gguf: { arch: 'llama', permuteQK: true },
    summary: 'pre-norm RMSNorm, SwiGLU MLP, RoPE (default, linear, llama3), GQA; optional attention/MLP biases',
  },
  qwen2: {
    modelType: 'qwen2',
    className: 'Qwen2ForCausalLM',
    defaults: { from: 'Qwen2Config', ...QWEN_DEFAULTS },
    activationKeys: ['hidden_act'],
    activationDefault: 'silu',
    bias: { qkv: 'always', o: 'never', mlp: 'never' }, // Qwen2Attention hard-codes bias=True on q/k/v, False on o_proj
    layerKinds: ['full_attention'],
    refusedFlags: NO_SLIDING,
    rope: 'one',
    softcaps: false,
    attentionOutputGate: false,
    norms: LLAMA_NORMS,
    normOffset: 0,
    scaledEmbedding: false,
    gguf: { arch: 'qwen2', permuteQK: false },
    summary: 'the Llama block with biases on q/k/v',
  },
  qwen3: {
    modelType: 'qwen3',
    className: 'Qwen3ForCausalLM',
    defaults: { from: 'Qwen3Config', ...QWEN_DEFAULTS },
    activationKeys: ['hidden_act'],
    activationDefault: 'silu',
    bias: { qkv: 'attention_bias', o: 'attention_bias', mlp: 'never' },
    layerKinds: ['full_attention'],
    refusedFlags: NO_SLIDING,
    rope: 'one',
    softcaps: false,
    attentionOutputGate: false,
    norms: { ...LLAMA_NORMS, q: 'self_attn.q_norm', k: 'self_attn.k_norm' },
    normOffset: 0,
    scaledEmbedding: false,
    gguf: { arch: 'qwen3', permuteQK: false },
    summary: 'the Llama block with a per-head RMSNorm on q and k before RoPE; head_dim independent of hidden_size',
  },
  gemma3_text: {
    modelType: 'gemma3_text',
    className: 'Gemma3ForCausalLM',
    defaults: { from: 'Gemma3TextConfig', maxPositionEmbeddings: 131072, tieWordEmbeddings: true, bosTokenId: 2, eosTokenIds: [1], ropeTheta: 1_000_000 },
    activationKeys: ['hidden_activation', 'hidden_act'],
    activationDefault: 'gelu_pytorch_tanh',
    bias: { qkv: 'attention_bias', o: 'attention_bias', mlp: 'never' },
    layerKinds: ['sliding_attention', 'full_attention'],
    // Gemma3TextConfig: every sixth layer is full attention (sliding_window_pattern, the key transformers reads, not _sliding_window_pattern).
    layerPattern: { key: 'sliding_window_pattern', fallback: 6, nth: 'full_attention', others: 'sliding_attention' },
    refusedFlags: { use_bidirectional_attention: 'an embedding model; only causal language models are supported' },
    rope: 'per_layer_type',
    localRopeTheta: 10_000,
    queryPreAttnScalarDefault: 256,
    softcaps: true,
    attentionOutputGate: false,
    norms: {
      attnIn: 'input_layernorm',
      attnOut: 'post_attention_layernorm',
      mlpIn: 'pre_feedforward_layernorm',
      mlpOut: 'post_feedforward_layernorm',
      q: 'self_attn.q_norm',
      k: 'self_attn.k_norm',
    },
    normOffset: 1,
    scaledEmbedding: true,
    gguf: { arch: 'gemma3', permuteQK: false },
    summary:
      'RMSNorm as x·(1+w), norms before and after attention and MLP, q/k norms, GeGLU (gelu_pytorch_tanh), embeddings ×√hidden, ' +
      'query_pre_attn_scalar, sliding-window and full layers with their own RoPE, optional logit soft-capping',
  },
  qwen3_5_text: {
    modelType: 'qwen3_5_text',
    className: 'Qwen3_5ForCausalLM',
    wrapper: {
      className: 'Qwen3_5ForConditionalGeneration',
      modelType: 'qwen3_5',
      textConfigKey: 'text_config',
      weightPrefix: 'model.language_model.',
      ignoredPrefixes: ['model.visual.', 'mtp.'],
    },
    // Qwen3_5TextConfig; rope_theta is PreTrainedConfig's default_theta.
    defaults: { from: 'Qwen3_5TextConfig', ...QWEN_DEFAULTS },
    activationKeys: ['hidden_act'],
    activationDefault: 'silu',
    bias: { qkv: 'attention_bias', o: 'attention_bias', mlp: 'never' },
    layerKinds: ['linear_attention', 'full_attention'],
    // Qwen3_5TextConfig: every fourth layer is full attention (full_attention_interval).
    layerPattern: { key: 'full_attention_interval', fallback: 4, nth: 'full_attention', others: 'linear_attention' },
    refusedFlags: {},
    rope: 'one',
    partialRotaryDefault: 0.25, // Qwen3_5TextConfig.__post_init__: kwargs.setdefault("partial_rotary_factor", 0.25)
    softcaps: false,
    attentionOutputGate: true,
    norms: { ...LLAMA_NORMS, q: 'self_attn.q_norm', k: 'self_attn.k_norm' },
    normOffset: 1,
    scaledEmbedding: false,
    // llama.cpp's qwen35 names every projection trained here (attn_qkv / attn_gate / ssm_beta / ssm_alpha / ssm_out in the
    // linear layers, attn_q holding q_proj's query and gate rows) and applies LoRA to each; its converter's value-head
    // reorder (fewer key heads than value heads) is applied to the pair (export/gguf-linear-attention.ts). NeoX RoPE: no q/k permutation.
    gguf: { arch: 'qwen35', permuteQK: false },
    summary:
      'hybrid: Gated DeltaNet linear attention in three of four layers, gated full attention (q/k norms, partial RoPE) in the fourth; ' +
      'RMSNorm as x·(1+w), SwiGLU; also read from the vision-language Qwen3_5ForConditionalGeneration checkpoints (text part only)',
  },
};

export const MODEL_TYPE_OF_CLASS: Readonly<Record<string, ModelType>> = Object.fromEntries(
  Object.values(ARCHITECTURES).map((a) => [a.className, a.modelType]),
);

/** The wrapping class names (Qwen3_5ForConditionalGeneration) → the text model they hold. */
export const MODEL_TYPE_OF_WRAPPER: Readonly<Record<string, ModelType>> = Object.fromEntries(
  Object.values(ARCHITECTURES).flatMap((a) => (a.wrapper ? [[a.wrapper.className, a.modelType]] : [])),
);

/** Whether the decoder computes every layer kind the family has (Qwen3.5: not until its Gated DeltaNet runs). */
export function isTrainable(arch: Architecture): boolean {
  return arch.layerKinds.every((k) => LAYER_KINDS[k].trainable);
}

export const SUPPORTED_MODELS = `Supported: ${Object.values(ARCHITECTURES)
  .map((a) => {
    const names = `${a.className} (${a.modelType})${a.wrapper ? `, ${a.wrapper.className} (${a.wrapper.modelType})` : ''}`;
    return isTrainable(a) ? names : `${names}: read, not yet trainable`;
  })
  .join(', ')}`;

export function isModelType(value: unknown): value is ModelType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ARCHITECTURES, value);
}

/** The text model a wrapper's model_type stands for (`qwen3_5` → qwen3_5_text), if any. */
export function modelTypeOfWrapperType(value: unknown): ModelType | undefined {
  // `a.wrapper !== undefined` first: a family without a wrapper must not match a missing model_type.
  if (typeof value !== 'string') return undefined;
  return Object.values(ARCHITECTURES).find((a) => a.wrapper !== undefined && a.wrapper.modelType === value)?.modelType;
}
