// What differs between the decoder families the engine runs, as data: one entry per architecture,
// read by one decoder (engine/decoder-layer.ts). Adding a family is adding an entry here (and its
// config defaults in model-config.ts) when its block is made of the pieces below; a new piece is a
// new trait with its kernel option, never a copied decoder.
//
// The block, with every optional piece:
//   h = x + attnOut?( o_proj( attention( rope(qNorm?(q)), rope(kNorm?(k)), v ) ) ),  q,k,v = proj(attnIn(x))
//   out = h + mlpOut?( down( act(gate(mlpIn(h))) * up(mlpIn(h)) ) )
// where every norm is an RMSNorm, with the weight used as w (Llama) or 1 + w (Gemma).

export type ModelType = 'llama' | 'qwen2' | 'qwen3' | 'gemma3_text';

/** The RMSNorms of a layer by role; the checkpoint names of each family differ (see NORM_NAMES). */
export type NormRole = 'attnIn' | 'attnOut' | 'mlpIn' | 'mlpOut' | 'q' | 'k';
export const NORM_ROLES: readonly NormRole[] = ['attnIn', 'attnOut', 'mlpIn', 'mlpOut', 'q', 'k'];

/** The gated MLP's activation: SwiGLU (silu) or GeGLU (gelu_pytorch_tanh). */
export type GatedActivation = 'silu' | 'gelu_tanh';

export interface Architecture {
  readonly modelType: ModelType;
  /** The transformers class named in `architectures`. */
  readonly className: string;
  /** Layer norms by role, as the checkpoint names them under `model.layers.N.` (absent: not in the block). */
  readonly norms: Readonly<Partial<Record<NormRole, string>>>;
  /** RMSNorm computes x·rstd·(normOffset + w): 0 for Llama-style norms, 1 for Gemma's `x·(1 + w)` (all norms, the final one too). */
  readonly normOffset: 0 | 1;
  /** Embeddings multiplied by √hidden_size (Gemma), the factor rounded to the embedding's dtype. */
  readonly scaledEmbedding: boolean;
  /** One line for the model list and the README: what this family adds to the Llama block. */
  readonly summary: string;
}

const LLAMA_NORMS = { attnIn: 'input_layernorm', mlpIn: 'post_attention_layernorm' } as const;

export const ARCHITECTURES: Readonly<Record<ModelType, Architecture>> = {
  llama: {
    modelType: 'llama',
    className: 'LlamaForCausalLM',
    norms: LLAMA_NORMS,
    normOffset: 0,
    scaledEmbedding: false,
    summary: 'pre-norm RMSNorm, SwiGLU MLP, RoPE (default, linear, llama3), GQA; optional attention/MLP biases',
  },
  qwen2: {
    modelType: 'qwen2',
    className: 'Qwen2ForCausalLM',
    norms: LLAMA_NORMS,
    normOffset: 0,
    scaledEmbedding: false,
    summary: 'the Llama block with biases on q/k/v',
  },
  qwen3: {
    modelType: 'qwen3',
    className: 'Qwen3ForCausalLM',
    norms: { ...LLAMA_NORMS, q: 'self_attn.q_norm', k: 'self_attn.k_norm' },
    normOffset: 0,
    scaledEmbedding: false,
    summary: 'the Llama block with a per-head RMSNorm on q and k before RoPE; head_dim independent of hidden_size',
  },
  gemma3_text: {
    modelType: 'gemma3_text',
    className: 'Gemma3ForCausalLM',
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
    summary:
      'RMSNorm as x·(1+w), norms before and after attention and MLP, q/k norms, GeGLU (gelu_pytorch_tanh), embeddings ×√hidden, ' +
      'query_pre_attn_scalar, sliding-window and full layers with their own RoPE, optional logit soft-capping',
  },
};

export const MODEL_TYPE_OF_CLASS: Readonly<Record<string, ModelType>> = Object.fromEntries(
  Object.values(ARCHITECTURES).map((a) => [a.className, a.modelType]),
);

export const SUPPORTED_MODELS = `Supported: ${Object.values(ARCHITECTURES).map((a) => `${a.className} (${a.modelType})`).join(', ')}`;

export function isModelType(value: unknown): value is ModelType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ARCHITECTURES, value);
}
