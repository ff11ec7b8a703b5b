// adapter_config.json in PEFT 0.21's full form: the same fields PEFT writes (the golden adapters were
// saved by PEFT itself), and the fields whose meaning the engine cannot honour refused on import.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { adapterConfigJson, parseAdapterConfig, PEFT_VERSION } from '../src/engine/peft-adapter';
import { DEFAULT_LORA } from '../src/engine/lora';
import { QloraError } from '../src/errors';
import { FIXTURES } from './helpers/golden';

const peftWritten = JSON.parse(readFileSync(`${FIXTURES}golden/tiny-gemma3/lora/adapter_init/adapter_config.json`, 'utf8'));

describe('adapter_config.json', () => {
  it('has every field PEFT 0.21 writes, in its types', () => {
    const ours = adapterConfigJson(DEFAULT_LORA, '/models/x');
    expect(Object.keys(ours).sort()).toEqual(Object.keys(peftWritten).sort());
    expect(ours.peft_version).toBe(PEFT_VERSION);
    expect(peftWritten.peft_version).toBe(PEFT_VERSION);
    for (const [k, v] of Object.entries(peftWritten)) {
      if (v === null || ['target_modules', 'base_model_name_or_path', 'inference_mode', 'r', 'lora_alpha', 'lora_dropout'].includes(k)) continue;
      expect(typeof ours[k], k).toBe(typeof v);
    }
    expect(parseAdapterConfig(ours).settings).toEqual({ ...DEFAULT_LORA, targets: [...DEFAULT_LORA.targets] });
  });

  it.each([
    ['exclude_modules', ['down_proj'], /exclude_modules/],
    ['layers_to_transform', [0], /layers_to_transform/],
    ['target_parameters', ['mlp.experts.gate_up_proj'], /target_parameters/],
    ['trainable_token_indices', [5, 6], /trainable_token_indices/],
    ['lora_bias', true, /lora_bias/],
    ['use_qalora', true, /QA-LoRA/],
    ['layer_replication', [[0, 2]], /layer_replication/],
  ])('refuses %s instead of ignoring it', (field, value, message) => {
    let error: unknown;
    try {
      parseAdapterConfig({ ...peftWritten, [field]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(QloraError);
    expect((error as QloraError).code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toMatch(message);
  });

  it('accepts those fields at their defaults (null, false, empty)', () => {
    expect(() => parseAdapterConfig({ ...peftWritten, exclude_modules: [], trainable_token_indices: null, lora_bias: false, target_parameters: null })).not.toThrow();
  });
});
