// config.json parsing: the fixture configs, real-world shapes (Llama 3.2 with llama3 rope in both the
// old and the v5 spelling, linear scaling, defaults), rope inverse frequencies against values computed
// independently (numpy, float64), and every refusal as CONFIG_INVALID with a message that says why.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QloraError } from '../src/errors';
import { ARCHITECTURES } from '../src/formats/architectures';
import { parseModelConfig, ropeInvFreq, type ModelConfig } from '../src/formats/model-config';

const fixtureConfig = (dir: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${dir}/config.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

function configError(json: unknown): QloraError {
  try {
    parseModelConfig(json);
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    expect((e as QloraError).code).toBe('CONFIG_INVALID');
    expect((e as QloraError).message).toMatch(/^config\.json: /);
    return e as QloraError;
  }
  throw new Error('expected CONFIG_INVALID, the config was accepted');
}

/** Llama-3.2-1B's config.json as published (transformers 4.45 spelling). */
const llama32Legacy = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

/** The same model as transformers v5 writes it. */
const { rope_scaling: _legacyScaling, rope_theta: _legacyTheta, ...llama32Base } = llama32Legacy;
const llama32V5 = {
  ...llama32Base,
  rope_parameters: {
    rope_theta: 500000.0,
    rope_type: 'llama3',
    factor: 32.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
  },
};

/** numpy float64, transformers' formula (see the test's header): index -> [default inv_freq, llama3 inv_freq]. */
const LLAMA32_INV_FREQ: Record<number, [number, number]> = {
  0: [1.0, 1.0],
  1: [0.6636012376960885, 0.6636012376960885],
  10: [0.016560440080994446, 0.016560440080994446], // high frequency: kept
  15: [0.0021311195369119653, 0.001290547928209264], // medium: interpolated
  16: [0.001414213562373095, 0.00042955679655936815],
  17: [0.0009384738703573801, 9.70828780262767e-5],
  18: [0.000622772421914596, 1.9461638184831125e-5], // low frequency: divided by 32
  21: [0.0001819914288146255, 5.687232150457047e-6],
  31: [3.0138581521391716e-6, 9.418306725434911e-8],
};

describe('fixture configs', () => {
  it('tiny-llama', () => {
    expect(parseModelConfig(fixtureConfig('tiny-llama'))).toEqual<ModelConfig>({
      modelType: 'llama',
      architecture: ARCHITECTURES.llama,
      vocabSize: 512,
      hiddenSize: 64,
      intermediateSize: 176,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      rmsNormEps: 1e-5,
      maxPositionEmbeddings: 512,
      tieWordEmbeddings: false,
      qkvBias: false,
      oBias: false,
      mlpBias: false,
      activation: 'silu',
      rope: { theta: 10000, scaling: null },
      ropeSliding: { theta: 10000, scaling: null },
      layerTypes: ['full_attention', 'full_attention'],
      slidingWindow: null,
      attentionScale: 0.25,
      attnLogitSoftcap: null,
      finalLogitSoftcap: null,
      bosTokenId: null,
      eosTokenIds: [2],
      padTokenId: 0,
      quantization: null,
      rotaryDim: 16,
      attentionOutputGate: false,
      linearAttention: null,
      wrapper: null,
    });
  });

  it('tiny-qwen2: q/k/v bias, no o bias, tied, theta 1e6', () => {
    const config = parseModelConfig(fixtureConfig('tiny-qwen2'));
    expect(config).toMatchObject({
      modelType: 'qwen2',
      intermediateSize: 160,
      numKvHeads: 1,
      headDim: 16,
      rmsNormEps: 1e-6,
      tieWordEmbeddings: true,
      qkvBias: true,
      oBias: false,
      mlpBias: false,
      rope: { theta: 1e6, scaling: null },
      quantization: null,
    });
  });

  it.each(['tiny-llama-bnb-nf4', 'tiny-qwen2-bnb-nf4'])('%s: architectures null -> model_type; NF4 + double quant', (dir) => {
    const config = parseModelConfig(fixtureConfig(dir));
    const plain = parseModelConfig(fixtureConfig(dir.replace('-bnb-nf4', '')));
    expect(config.quantization).toEqual({ method: 'bitsandbytes-nf4', doubleQuant: true, skipModules: ['lm_head'] });
    expect({ ...config, quantization: null }).toEqual(plain);
  });
});

describe('rope', () => {
  it('default inv_freq is theta^(-2j/d)', () => {
    const config = parseModelConfig(fixtureConfig('tiny-llama'));
    const invFreq = ropeInvFreq(config);
    expect(invFreq).toHaveLength(8);
    invFreq.forEach((f, j) => expect(f).toBeCloseTo(Math.exp((-Math.log(10000) * 2 * j) / 16), 15));
  });

  it.each([
    ['legacy rope_theta + rope_scaling', llama32Legacy],
    ['v5 rope_parameters', llama32V5],
  ])('Llama 3.2 1B, %s', (_, json) => {
    const config = parseModelConfig(json);
    expect(config).toMatchObject({ numHeads: 32, numKvHeads: 8, headDim: 64, tieWordEmbeddings: true, bosTokenId: 128000, eosTokenIds: [128001] });
    expect(config.rope).toEqual({
      theta: 500000,
      scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    });
    const invFreq = ropeInvFreq(config);
    expect(invFreq).toHaveLength(32);
    for (const [j, [, expected]] of Object.entries(LLAMA32_INV_FREQ)) {
      expect(Math.abs(invFreq[Number(j)]! - expected) / expected).toBeLessThan(1e-14);
    }
  });

  it('llama3 scaling recomputed here from the published recipe', () => {
    const invFreq = ropeInvFreq(parseModelConfig(llama32V5));
    const [lowWavelen, highWavelen] = [8192 / 1, 8192 / 4];
    for (let j = 0; j < 32; j++) {
      const base = 500000 ** (-j / 32);
      const wavelen = (2 * Math.PI) / base;
      let expected: number;
      if (wavelen < highWavelen) expected = base;
      else if (wavelen > lowWavelen) expected = base / 32;
      else {
        const smooth = (8192 / wavelen - 1) / (4 - 1);
        expected = (1 - smooth) * (base / 32) + smooth * base;
      }
      expect(Math.abs(invFreq[j]! - expected) / expected).toBeLessThan(1e-13);
    }
  });

  it.each([
    ['legacy "type"', { rope_theta: 10000, rope_scaling: { type: 'linear', factor: 4 } }],
    ['legacy "rope_type"', { rope_theta: 10000, rope_scaling: { rope_type: 'linear', factor: 4 } }],
    ['v5', { rope_parameters: { rope_theta: 10000, rope_type: 'linear', factor: 4 } }],
  ])('linear scaling, %s', (_, rope) => {
    const { rope_parameters: _p, ...base } = fixtureConfig('tiny-llama');
    const config = parseModelConfig({ ...base, ...rope });
    expect(config.rope).toEqual({ theta: 10000, scaling: { type: 'linear', factor: 4 } });
    const plain = ropeInvFreq(parseModelConfig(fixtureConfig('tiny-llama')));
    expect(Array.from(ropeInvFreq(config))).toEqual(Array.from(plain, (f) => f / 4));
  });

  it('"default" rope type and absent rope settings give theta 10000, no scaling', () => {
    const { rope_parameters: _p, ...base } = fixtureConfig('tiny-llama');
    expect(parseModelConfig(base).rope).toEqual({ theta: 10000, scaling: null });
    expect(parseModelConfig({ ...base, rope_theta: 5e5, rope_scaling: { rope_type: 'default' } }).rope).toEqual({ theta: 5e5, scaling: null });
    expect(parseModelConfig({ ...base, rope_theta: 5e5, rope_scaling: null }).rope).toEqual({ theta: 5e5, scaling: null });
  });
});

describe('defaults and variants', () => {
  const minimal = {
    architectures: ['LlamaForCausalLM'],
    vocab_size: 32000,
    hidden_size: 2048,
    intermediate_size: 5632,
    num_hidden_layers: 22,
    num_attention_heads: 32,
  };

  it('fills transformers defaults for a minimal llama config', () => {
    expect(parseModelConfig(minimal)).toMatchObject({
      modelType: 'llama',
      numKvHeads: 32,
      headDim: 64,
      rmsNormEps: 1e-6,
      maxPositionEmbeddings: 2048,
      tieWordEmbeddings: false,
      qkvBias: false,
      oBias: false,
      mlpBias: false,
      rope: { theta: 10000, scaling: null },
      bosTokenId: 1,
      eosTokenIds: [2],
      padTokenId: null,
      quantization: null,
    });
  });

  it('llama attention_bias / mlp_bias; eos lists; model_type without architectures', () => {
    const config = parseModelConfig({ ...minimal, attention_bias: true, mlp_bias: true, eos_token_id: [128001, 128008, 128009] });
    expect(config).toMatchObject({ qkvBias: true, oBias: true, mlpBias: true, eosTokenIds: [128001, 128008, 128009] });
    const { architectures: _a, ...noArchitectures } = minimal;
    expect(parseModelConfig({ ...noArchitectures, model_type: 'llama' }).modelType).toBe('llama');
    expect(parseModelConfig({ ...noArchitectures, model_type: 'qwen2' })).toMatchObject({ modelType: 'qwen2', qkvBias: true, maxPositionEmbeddings: 32768 });
  });

  it('explicit head_dim need not equal hidden/heads', () => {
    expect(parseModelConfig({ ...minimal, hidden_size: 100, num_attention_heads: 4, head_dim: 32 }).headDim).toBe(32);
  });
});

describe('refusals', () => {
  const tiny = fixtureConfig('tiny-llama');
  const qwen = fixtureConfig('tiny-qwen2');
  const supported = 'Supported: LlamaForCausalLM (llama), Qwen2ForCausalLM (qwen2)';

  it('unknown architectures name what was found and what is supported', () => {
    const gpt2 = configError({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_embd: 768 });
    expect(gpt2.message).toContain('architecture "GPT2LMHeadModel" (model_type "gpt2") is not supported');
    expect(gpt2.message).toContain(supported);
    expect(configError({ ...tiny, architectures: null, model_type: 'mistral' }).message).toContain(`model_type "mistral" is not supported. ${supported}`);
    expect(configError({ ...tiny, architectures: ['LlamaForSequenceClassification'] }).message).toContain(supported);
    expect(configError({ ...tiny, architectures: ['Qwen2ForCausalLM'] }).message).toMatch(/does not match model_type "llama"/);
    expect(configError({ ...tiny, architectures: 'LlamaForCausalLM' }).message).toMatch(/"architectures" must name one architecture/);
    expect(configError(null).message).toContain(`expected a JSON object, found null. ${supported}`);
    expect(configError([tiny]).message).toContain('expected a JSON object');
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['hidden size as a string', { hidden_size: '64' }, /"hidden_size" must be an integer >= 1, found "64"/],
    ['fractional size', { intermediate_size: 176.5 }, /"intermediate_size" must be an integer >= 1, found 176.5/],
    ['zero layers', { num_hidden_layers: 0 }, /"num_hidden_layers" must be an integer >= 1, found 0/],
    ['missing vocab', { vocab_size: undefined }, /"vocab_size" is missing/],
    ['kv heads not dividing heads', { num_key_value_heads: 3 }, /num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)/],
    ['hidden not divisible by heads', { hidden_size: 66, head_dim: undefined }, /hidden_size \(66\) must be divisible by num_attention_heads \(4\)/],
    ['odd head_dim', { head_dim: 15 }, /head_dim must be even .* found 15/],
    ['gelu', { hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    ['bad eps', { rms_norm_eps: -1 }, /"rms_norm_eps" must be a positive number, found -1/],
    ['bad bias flag', { attention_bias: 'no' }, /"attention_bias" must be true or false/],
    ['bad eos', { eos_token_id: [2, 'x'] }, /"eos_token_id" must be a token id or a list of token ids/],
    ['bad bos', { bos_token_id: -1 }, /"bos_token_id" must be an integer >= 0/],
    ['yarn rope', { rope_parameters: { rope_theta: 1e4, rope_type: 'yarn', factor: 4 } }, /rope type "yarn" \(in "rope_parameters"\) is not supported. Supported rope types: default, linear, llama3/],
    ['dynamic rope (legacy)', { rope_parameters: undefined, rope_scaling: { type: 'dynamic', factor: 2 } }, /rope type "dynamic" \(in "rope_scaling"\)/],
    ['linear without factor', { rope_parameters: { rope_type: 'linear' } }, /"rope_parameters.factor" is missing/],
    ['llama3 without low_freq_factor', { rope_parameters: { ...llama32V5.rope_parameters, low_freq_factor: undefined } }, /"rope_parameters.low_freq_factor" is missing/],
    ['llama3 with high <= low', { rope_parameters: { ...llama32V5.rope_parameters, high_freq_factor: 1 } }, /high_freq_factor > low_freq_factor/],
    ['rope_theta zero', { rope_parameters: { rope_theta: 0 } }, /"rope_parameters.rope_theta" must be a positive number, found 0/],
    ['partial rotary', { partial_rotary_factor: 0.5 }, /"partial_rotary_factor" is 0.5; only full rotary/],
    ['rope_scaling not an object', { rope_parameters: 'llama3' }, /"rope_parameters" must be an object/],
    ['fp4', { quantization_config: { quant_method: 'bitsandbytes', load_in_4bit: true, bnb_4bit_quant_type: 'fp4' } }, /bnb_4bit_quant_type is "fp4"; only "nf4"/],
    ['4-bit with the fp4 default', { quantization_config: { load_in_4bit: true } }, /bnb_4bit_quant_type is "fp4"/],
    ['8-bit', { quantization_config: { quant_method: 'bitsandbytes', load_in_8bit: true } }, /8-bit \(LLM.int8\), which is not supported/],
    ['gptq', { quantization_config: { quant_method: 'gptq', bits: 4 } }, /quantization method "gptq" is not supported. Supported: bitsandbytes 4-bit NF4/],
    ['bf16 quant storage', { quantization_config: { load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_quant_storage: 'bfloat16' } }, /only "uint8" packing/],
  ])('%s', (_, change, message) => {
    expect(configError({ ...tiny, ...change }).message).toMatch(message);
  });

  it('qwen2 sliding window', () => {
    expect(configError({ ...qwen, use_sliding_window: true, sliding_window: 4096 }).message).toMatch(/use_sliding_window is true; sliding-window attention is supported for Gemma 3 only/);
    expect(configError({ ...qwen, layer_types: ['full_attention', 'sliding_attention'] }).message).toMatch(/"layer_types" must all be "full_attention"/);
  });
});

describe('Qwen3 and Gemma 3', () => {
  it('tiny-qwen3: q/k norms, head_dim 32 with hidden 64, no bias, tied, rope_parameters', () => {
    const config = parseModelConfig(fixtureConfig('tiny-qwen3'));
    expect(config).toMatchObject({
      modelType: 'qwen3', architecture: ARCHITECTURES.qwen3, hiddenSize: 64, numHeads: 4, numKvHeads: 2, headDim: 32,
      qkvBias: false, oBias: false, mlpBias: false, tieWordEmbeddings: true, activation: 'silu',
      rope: { theta: 1e6, scaling: null }, ropeSliding: { theta: 1e6, scaling: null },
      layerTypes: ['full_attention', 'full_attention'], slidingWindow: null, attentionScale: 32 ** -0.5,
    });
    expect(config.architecture.norms).toMatchObject({ q: 'self_attn.q_norm', k: 'self_attn.k_norm' });
  });

  it('tiny-gemma3: sliding + full layers with their own RoPE, window 16, query_pre_attn_scalar, GeGLU, 1 + w norms', () => {
    const config = parseModelConfig(fixtureConfig('tiny-gemma3'));
    expect(config).toMatchObject({
      modelType: 'gemma3_text', headDim: 32, numKvHeads: 1, tieWordEmbeddings: true, activation: 'gelu_tanh',
      layerTypes: ['sliding_attention', 'sliding_attention', 'full_attention'], slidingWindow: 16,
      rope: { theta: 1e6, scaling: null }, ropeSliding: { theta: 1e4, scaling: null },
      attentionScale: 32 ** -0.5, attnLogitSoftcap: null, finalLogitSoftcap: null,
    });
    expect(config.architecture).toMatchObject({ normOffset: 1, scaledEmbedding: true });
    expect(ropeInvFreq(config, 'sliding_attention')[1]).toBeCloseTo(1e4 ** (-2 / 32), 15);
    expect(ropeInvFreq(config)[1]).toBeCloseTo(1e6 ** (-2 / 32), 15);
  });

  it.each(['tiny-qwen3-bnb-nf4', 'tiny-gemma3-bnb-nf4'])('%s: architectures null -> model_type; the same model', (dir) => {
    const config = parseModelConfig(fixtureConfig(dir));
    expect({ ...config, quantization: null }).toEqual(parseModelConfig(fixtureConfig(dir.replace('-bnb-nf4', ''))));
  });

  // Gemma 3 4B's text config as the Hub has it (transformers 4.x spelling), and the same model as v5 writes it.
  const gemmaHub = {
    architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 2560, intermediate_size: 10240, num_hidden_layers: 34,
    num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, vocab_size: 262208, query_pre_attn_scalar: 256, sliding_window: 1024,
    sliding_window_pattern: 6, rope_theta: 1_000_000, rope_local_base_freq: 10_000, rope_scaling: { rope_type: 'linear', factor: 8.0 },
    hidden_activation: 'gelu_pytorch_tanh', max_position_embeddings: 131072, bos_token_id: 2, eos_token_id: [1, 106], pad_token_id: 0,
    final_logit_softcapping: null, attn_logit_softcapping: null,
  };
  const { rope_theta: _t, rope_local_base_freq: _l, rope_scaling: _s, sliding_window_pattern: _p, ...gemmaBase } = gemmaHub;
  const gemmaV5 = {
    ...gemmaBase,
    layer_types: Array.from({ length: 34 }, (_, i) => ((i + 1) % 6 ? 'sliding_attention' : 'full_attention')),
    rope_parameters: {
      full_attention: { rope_type: 'linear', factor: 8.0, rope_theta: 1_000_000 },
      sliding_attention: { rope_type: 'default', rope_theta: 10_000 },
    },
  };

  it('a Gemma 3 config in the older Hub spelling loads to the same model as the rope_parameters one', () => {
    const legacy = parseModelConfig(gemmaHub);
    expect(legacy).toEqual(parseModelConfig(gemmaV5));
    expect(legacy.rope).toEqual({ theta: 1e6, scaling: { type: 'linear', factor: 8 } });
    expect(legacy.ropeSliding).toEqual({ theta: 1e4, scaling: null });
    expect(legacy.layerTypes.filter((t) => t === 'full_attention')).toHaveLength(5); // layers 6, 12, ..., 30
    expect(legacy.eosTokenIds).toEqual([1, 106]);
  });

  it('a Qwen3 config in the older spelling (rope_theta) equals the rope_parameters one', () => {
    const { rope_parameters: _r, ...base } = fixtureConfig('tiny-qwen3');
    expect(parseModelConfig({ ...base, rope_theta: 1e6, rope_scaling: null })).toEqual(parseModelConfig(fixtureConfig('tiny-qwen3')));
  });

  it("Gemma 3's defaults are Gemma3TextConfig's: one full layer in six, window 4096, local base 1e4, scalar 256", () => {
    const { layer_types: _lt, sliding_window: _w, rope_parameters: _rp, query_pre_attn_scalar: _q, ...bare } = fixtureConfig('tiny-gemma3');
    const config = parseModelConfig({ ...bare, num_hidden_layers: 7 });
    expect(config.layerTypes).toEqual([...Array(5).fill('sliding_attention'), 'full_attention', 'sliding_attention']);
    expect(config).toMatchObject({ slidingWindow: 4096, attentionScale: 1 / 16, rope: { theta: 1e6 }, ropeSliding: { theta: 1e4 } });
  });

  it('soft-capping and a transformers-4 legacy "type" in rope_scaling (read as default, as transformers does)', () => {
    const config = parseModelConfig({ ...gemmaHub, attn_logit_softcapping: 50, final_logit_softcapping: 30, rope_scaling: { type: 'linear', factor: 8 } });
    expect(config).toMatchObject({ attnLogitSoftcap: 50, finalLogitSoftcap: 30, rope: { theta: 1e6, scaling: null } });
  });

  it.each([
    ['a flat rope_parameters', { rope_parameters: { rope_type: 'default', rope_theta: 3 } }, /must have "full_attention" and\/or "sliding_attention"/],
    ['bidirectional attention', { use_bidirectional_attention: true }, /use_bidirectional_attention is true/],
    ['layer_types of the wrong length', { layer_types: ['full_attention'] }, /"layer_types" must list/],
    ['another activation', { hidden_activation: 'relu' }, /hidden_activation "relu" is not supported/],
    ['a zero soft cap', { final_logit_softcapping: 0 }, /"final_logit_softcapping" must be a positive number/],
    ['a mismatched architecture', { architectures: ['Qwen3ForCausalLM'] }, /does not match model_type "gemma3_text"/],
  ])('Gemma 3 refuses %s', (_, change, message) => {
    expect(configError({ ...fixtureConfig('tiny-gemma3'), ...change }).message).toMatch(message);
  });

  it('an unknown architecture names every supported one', () => {
    const message = configError({ ...fixtureConfig('tiny-gemma3'), architectures: ['Phi3ForCausalLM'], model_type: 'phi3' }).message;
    for (const name of ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'Gemma3ForCausalLM']) expect(message).toContain(name);
  });
});
