// The adapter as a GGUF LoRA adapter, the file llama.cpp's convert_lora_to_gguf.py writes from a PEFT
// folder (default --outtype f32) and llama.cpp (`llama-cli --lora`), Ollama (`ADAPTER` in a Modelfile)
// and LM Studio load next to the base model's GGUF:
//   - metadata, in the script's order: general.architecture (llama.cpp's name for the base family;
//     the loader refuses an adapter whose architecture differs from the model's), general.name,
//     general.type = "adapter", adapter.type = "lora", adapter.lora.alpha (f32),
//     general.quantization_version = 2. The script overrides set_gguf_parameters, so it copies no
//     hyperparameters of the base (block count, heads, …) into an adapter, and neither does this;
//   - tensors blk.{i}.{attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down|…}.weight.lora_a with
//     PEFT's lora_A [r, in] and .lora_b with lora_B [out, r], as they are (ggml ne [in, r] and [r, out],
//     what llama-adapter.cpp checks against the base tensor's ne [in, out]), F32, per layer in module
//     order (llama.cpp finds tensors by name, so the order is not significant);
//   - Qwen3.5 (arch qwen35): the linear layers' projections under llama.cpp's names with its value-head order
//     (gguf-linear-attention.ts);
//   - Llama only (the record's gguf.permuteQK): the script's LlamaModel.permute reorders the rows of q_proj / k_proj (HF's rotate-half
//     RoPE layout to ggml's interleaved one, per head, with n_kv_heads for k); on a LoRA pair that
//     lands on lora_b's rows. Qwen2, Qwen3 and Gemma 3 use ggml's NeoX RoPE and are not permuted.
// One deliberate difference: llama.cpp scales by alpha / r and has no rsLoRA, and the script copies
// lora_alpha as it is, so an rsLoRA adapter would load with the wrong scale. Here adapter.lora.alpha is
// PEFT's scale × r (= lora_alpha without rsLoRA, lora_alpha·√r with it), so llama.cpp applies the
// scale the adapter was trained with.
import { QloraError } from '../errors';
import type { ModelConfig, ModelType } from '../formats/model-config';
import { ARCHITECTURES } from '../formats/architectures';
import type { LoraLayout, LoraModule, LoraSlot } from '../engine/lora';
import { slotTensors } from '../engine/peft-adapter';
import { writeGguf } from '../formats/gguf-write';
import type { GgufTensor, GgufValue } from '../formats/gguf-write';
import { GGUF_TENSOR_OF_LINEAR_PROJECTION, isGatedDeltaNetProjection, linearAttentionGgufPair } from './gguf-linear-attention';

/**
 * llama.cpp's architecture name (gguf-py MODEL_ARCH_NAMES) of a model_type and whether its converter
 * permutes q/k rows, from the architecture record; a family llama.cpp would read differently is refused.
 */
export function ggufArchitecture(modelType: ModelType): { arch: string; permuteQK: boolean } {
  const gguf = ARCHITECTURES[modelType].gguf;
  if ('refused' in gguf) throw new QloraError('ARGUMENT_INVALID', `${gguf.refused}.`, { modelType });
  return gguf;
}

/**
 * gguf-py's tensor name of each projection (MODEL_TENSOR.ATTN_Q → "blk.{bid}.attn_q", …); Qwen3.5's gated
 * attention keeps q_proj's query and gate rows together in attn_q, and its linear layers' names are in
 * gguf-linear-attention.ts.
 */
export const GGUF_TENSOR_OF_MODULE: Readonly<Record<LoraModule, string>> = {
  q_proj: 'attn_q',
  k_proj: 'attn_k',
  v_proj: 'attn_v',
  o_proj: 'attn_output',
  gate_proj: 'ffn_gate',
  up_proj: 'ffn_up',
  down_proj: 'ffn_down',
  ...GGUF_TENSOR_OF_LINEAR_PROJECTION,
};

/** GGML_QNT_VERSION, written by every convert script. */
const GGML_QUANT_VERSION = 2;

export function ggufTensorName(slot: Pick<LoraSlot, 'layer' | 'module'>, which: 'a' | 'b'): string {
  return `blk.${slot.layer}.${GGUF_TENSOR_OF_MODULE[slot.module]}.weight.lora_${which}`;
}

/**
 * LlamaModel.permute on the rows of B [out, r]: rows of each head (headDim of them) viewed as
 * [2, headDim/2] and transposed, so row h·headDim + 2i + j comes from h·headDim + j·headDim/2 + i.
 */
export function permuteRopeRows(B: Float32Array, heads: number, r: number): Float32Array {
  const rows = B.length / r;
  const headDim = rows / heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new QloraError('INTERNAL', `permuteRopeRows: ${rows} rows do not split into ${heads} heads of an even size.`);
  }
  const half = headDim / 2;
  const out = new Float32Array(B.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const to = h * headDim + 2 * i + j;
        const from = h * headDim + j * half + i;
        out.set(B.subarray(from * r, from * r + r), to * r);
      }
    }
  }
  return out;
}

export interface GgufAdapterInput {
  readonly layout: LoraLayout;
  readonly params: Float32Array;
  readonly config: Pick<ModelConfig, 'modelType' | 'numHeads' | 'numKvHeads' | 'linearAttention'>;
  /** general.name: the base model's id (the script's --base-model-id) or its folder name. */
  readonly name: string;
}

/** The metadata in the order convert_lora_to_gguf.py writes it. */
export function ggufAdapterMetadata(input: GgufAdapterInput): [string, GgufValue][] {
  const { layout, config } = input;
  return [
    ['general.architecture', { type: 'string', value: ggufArchitecture(config.modelType).arch }],
    ['general.name', { type: 'string', value: input.name }],
    ['general.type', { type: 'string', value: 'adapter' }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    ['adapter.lora.alpha', { type: 'float32', value: layout.scale * layout.settings.r }],
    ['general.quantization_version', { type: 'uint32', value: GGML_QUANT_VERSION }],
  ];
}

/** Every tensor pair, B (or A) already reordered where llama.cpp's converter reorders the base weight. */
export function ggufAdapterTensors(input: GgufAdapterInput): GgufTensor[] {
  const { layout, params, config } = input;
  const r = layout.settings.r;
  const permute = ggufArchitecture(config.modelType).permuteQK;
  const tensors: GgufTensor[] = [];
  for (const slot of layout.slots) {
    let { A, B } = slotTensors(layout, params, slot);
    if (permute && slot.module === 'q_proj') B = permuteRopeRows(B, config.numHeads, r);
    if (permute && slot.module === 'k_proj') B = permuteRopeRows(B, config.numKvHeads, r);
    if (isGatedDeltaNetProjection(slot.module)) {
      if (!config.linearAttention) throw new QloraError('INTERNAL', `${slot.module} is a linear-attention projection, but the config has no linear-attention settings.`);
      ({ A, B } = linearAttentionGgufPair(slot.module, A, B, r, config.linearAttention));
    }
    tensors.push({ name: ggufTensorName(slot, 'a'), shape: [r, slot.inF], data: A });
    tensors.push({ name: ggufTensorName(slot, 'b'), shape: [slot.outF, r], data: B });
  }
  return tensors;
}

/** The .gguf file's bytes. */
export function ggufLoraAdapter(input: GgufAdapterInput): Uint8Array {
  return writeGguf(ggufAdapterMetadata(input), ggufAdapterTensors(input));
}
