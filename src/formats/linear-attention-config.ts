// The Gated DeltaNet settings of a hybrid model's linear-attention layers (transformers' Qwen3_5TextConfig
// `linear_*` fields, with its defaults), read only when the model has such a layer.

import type { ConfigFields } from './config-fields';

export interface LinearAttentionConfig {
  /** q/k heads; value head j reads key head floor(j / (numValueHeads / numKeyHeads)) (repeat_interleave). */
  readonly numKeyHeads: number;
  readonly numValueHeads: number;
  /** q/k are L2-normalised over this; a value head's recurrent state is keyHeadDim × valueHeadDim. */
  readonly keyHeadDim: number;
  readonly valueHeadDim: number;
  /** Width of the depthwise causal conv1d over the q/k/v channels (zero history before each sequence). */
  readonly convKernelDim: number;
}

export function parseLinearAttention(config: ConfigFields): LinearAttentionConfig {
  const numKeyHeads = config.int('linear_num_key_heads', 1, 16);
  const numValueHeads = config.int('linear_num_value_heads', 1, 32);
  if (numValueHeads % numKeyHeads !== 0) {
    throw config.fail(`linear_num_value_heads (${numValueHeads}) must be a multiple of linear_num_key_heads (${numKeyHeads}): each key head serves a whole group of value heads`);
  }
  return {
    numKeyHeads,
    numValueHeads,
    keyHeadDim: config.int('linear_key_head_dim', 1, 128),
    valueHeadDim: config.int('linear_value_head_dim', 1, 128),
    convKernelDim: config.int('linear_conv_kernel_dim', 1, 4),
  };
}

/** Channels of in_proj_qkv and of the conv1d: q and k (key heads × key dim each), then v. */
export function linearQkvChannels(c: LinearAttentionConfig): number {
  return 2 * c.numKeyHeads * c.keyHeadDim + c.numValueHeads * c.valueHeadDim;
}
