// Model shapes the benchmark builds with random weights (values do not change speed): the configs of
// the real checkpoints, parsed by the same code as a downloaded config.json.
import { parseModelConfig } from '../formats/model-config';
import type { ModelConfig } from '../formats/model-config';

const llama = (o: Record<string, unknown>) => ({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', ...o });

// Qwen3.5's small dense models, text part (Qwen/Qwen3.5-0.8B and -2B model cards, "Model Overview": 24 layers as
// 6 × (3 × Gated DeltaNet + 1 × gated attention), Gated DeltaNet 16 q/k and 16 v heads of 128, gated attention 8 q /
// 2 kv heads of 256 with a RoPE dim of 64 (partial_rotary_factor 0.25), LM output tied to the token embedding,
// vocabulary 248320, 262144 positions; hidden 1024 / FFN 3584 for 0.8B, 2048 / 6144 for 2B). From the released
// config.json's text_config: rope_theta 1e7, linear_conv_kernel_dim 4, rms_norm_eps 1e-6. Written as the text-only
// Qwen3_5ForCausalLM config (the layer pattern from full_attention_interval's default 4).
const qwen35 = (o: Record<string, unknown>) => ({
  architectures: ['Qwen3_5ForCausalLM'], model_type: 'qwen3_5_text', hidden_act: 'silu', num_hidden_layers: 24, num_attention_heads: 8, num_key_value_heads: 2, head_dim: 256,
  linear_num_key_heads: 16, linear_num_value_heads: 16, linear_key_head_dim: 128, linear_value_head_dim: 128, linear_conv_kernel_dim: 4,
  vocab_size: 248320, rms_norm_eps: 1e-6, rope_parameters: { rope_type: 'default', rope_theta: 10000000, partial_rotary_factor: 0.25 }, tie_word_embeddings: true, max_position_embeddings: 262144, ...o,
});

const SHAPES: Record<string, Record<string, unknown>> = {
  tiny: llama({ hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 4096 }),
  'smollm2-135m': llama({ hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, max_position_embeddings: 8192 }),
  'qwen2.5-0.5b': { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, max_position_embeddings: 32768 },
  'qwen3-0.6b': { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_act: 'silu', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, max_position_embeddings: 40960 },
  'gemma3-270m': { architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_activation: 'gelu_pytorch_tanh', hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256, vocab_size: 262144, rms_norm_eps: 1e-6, query_pre_attn_scalar: 256, sliding_window: 512, rope_theta: 1000000, rope_local_base_freq: 10000, tie_word_embeddings: true, max_position_embeddings: 32768 },
  'llama3.2-1b': llama({ hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: true, max_position_embeddings: 131072, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }),
  'qwen3.5-0.8b': qwen35({ hidden_size: 1024, intermediate_size: 3584 }),
  'qwen3.5-2b': qwen35({ hidden_size: 2048, intermediate_size: 6144 }),
  'llama3-8b': llama({ hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 128256, rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: false, max_position_embeddings: 8192 }),
};

export const SHAPE_NAMES = Object.keys(SHAPES);

export function shapeConfig(name: string): ModelConfig | null {
  const s = SHAPES[name];
  return s ? parseModelConfig(s, `built-in shape ${name}`) : null;
}
