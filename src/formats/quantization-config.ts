// The `quantization_config` of a pre-quantized checkpoint. Only bitsandbytes 4-bit NF4 is readable here
// (the QLoRA format); any other scheme is refused now, by name, instead of producing garbage weights.
// Defaults are BitsAndBytesConfig's.

import type { ConfigFields } from './config-fields';

export interface QuantizationConfig {
  readonly method: 'bitsandbytes-nf4';
  /** absmax itself quantized to 8 bits (bnb_4bit_use_double_quant). */
  readonly doubleQuant: boolean;
  /** Modules kept unquantized (llm_int8_skip_modules, e.g. ["lm_head"]). */
  readonly skipModules: string[];
}

const SUPPORTED = 'Supported: bitsandbytes 4-bit NF4 (load_in_4bit, bnb_4bit_quant_type "nf4"), or an unquantized checkpoint';

export function parseQuantizationConfig(config: ConfigFields): QuantizationConfig | null {
  const q = config.section('quantization_config');
  if (!q) return null;
  const method = q.string('quant_method', 'bitsandbytes'); // BitsAndBytesConfig's own quant_method
  if (method !== 'bitsandbytes') {
    throw q.fail(`quantization method "${method}" is not supported. ${SUPPORTED}.`);
  }
  // transformers has stored the flags both as `load_in_4bit` and as `_load_in_4bit`.
  if (q.bool('load_in_8bit', false) || q.bool('_load_in_8bit', false)) {
    throw q.fail(`the checkpoint is bitsandbytes 8-bit (LLM.int8), which is not supported. ${SUPPORTED}.`);
  }
  if (!q.bool('load_in_4bit', false) && !q.bool('_load_in_4bit', false)) {
    throw q.fail(`bitsandbytes quantization_config sets neither load_in_4bit nor load_in_8bit. ${SUPPORTED}.`);
  }
  const quantType = q.string('bnb_4bit_quant_type', 'fp4'); // BitsAndBytesConfig default: fp4, not nf4
  if (quantType !== 'nf4') {
    throw q.fail(`bnb_4bit_quant_type is "${quantType}"; only "nf4" is supported. ${SUPPORTED}.`);
  }
  const storage = q.string('bnb_4bit_quant_storage', 'uint8'); // two codes per byte; other storages pack differently
  if (storage !== 'uint8') {
    throw q.fail(`bnb_4bit_quant_storage is "${storage}"; only "uint8" packing is supported`);
  }
  return {
    method: 'bitsandbytes-nf4',
    doubleQuant: q.bool('bnb_4bit_use_double_quant', false),
    skipModules: q.stringList('llm_int8_skip_modules'),
  };
}
