// Qwen3.5 as the architecture record describes it, before the decoder can run it: config.json in both
// layouts (the text-only Qwen3_5ForCausalLM of the tiny fixture, and the released checkpoints'
// Qwen3_5ForConditionalGeneration with the text model under text_config, made here by nesting the
// fixture's config), the adapter keys PEFT writes on AutoModelForCausalLM (against the golden adapter),
// the wrapping checkpoint's weights read under the text names, training accepted now that the Gated
// DeltaNet layers run (test/golden.test.ts checks the numbers), and the GGUF export's architecture. Pure Node, no GPU.

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QloraError } from '../src/errors';
import { ARCHITECTURES, SUPPORTED_MODELS } from '../src/formats/architectures';
import { adapterKey, adapterKeys, layerProjections, projectionPath, textTensorName } from '../src/formats/checkpoint-names';
import { parseModelConfig, requireTrainable, ropeInvFreq } from '../src/formats/model-config';
import { SafetensorsFile } from '../src/formats/safetensors';
import { ggufArchitecture } from '../src/export/gguf-adapter';
import { LORA_MODULES, layerLoraModules, loraLayout, moduleShape, modulePath } from '../src/engine/lora';
import { readModelFiles, readTensors } from '../src/io/model-files';
import { readerFor } from '../src/io/node-files';
import { fetchModelConfig } from '../src/io/model-acquire';
import { urlModel } from '../src/io/hub';
import { startFileServer } from './helpers/file-server';
import { qwen3_5VlConfig, writeQwen3_5VlCheckpoint } from './helpers/qwen3_5-vl';

const fixture = (path: string) => new URL(`./fixtures/${path}`, import.meta.url);
const textConfig = JSON.parse(readFileSync(fixture('tiny-qwen3_5/config.json'), 'utf8')) as Record<string, unknown>;
const ALL_TWELVE = ['in_proj_qkv', 'in_proj_z', 'in_proj_b', 'in_proj_a', 'out_proj', 'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** The released layout around the fixture's text config: what Qwen/Qwen3.5-0.8B's config.json looks like. */
const vlConfig = qwen3_5VlConfig;

function configError(json: unknown): QloraError {
  try {
    parseModelConfig(json);
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    expect((e as QloraError).code).toBe('CONFIG_INVALID');
    return e as QloraError;
  }
  throw new Error('expected CONFIG_INVALID, the config was accepted');
}

describe('Qwen3.5 config.json', () => {
  it('the tiny text-only fixture: layer kinds, Gated DeltaNet settings, partial RoPE, output gate, 1 + w norms', () => {
    const config = parseModelConfig(textConfig);
    expect(config).toMatchObject({
      modelType: 'qwen3_5_text',
      architecture: ARCHITECTURES.qwen3_5_text,
      hiddenSize: 64,
      intermediateSize: 80,
      numLayers: 4,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 32,
      rotaryDim: 8,
      rmsNormEps: 1e-6,
      tieWordEmbeddings: true,
      qkvBias: false,
      oBias: false,
      mlpBias: false,
      activation: 'silu',
      rope: { theta: 1e7, scaling: null },
      layerTypes: ['linear_attention', 'linear_attention', 'linear_attention', 'full_attention'],
      slidingWindow: null,
      attentionScale: 32 ** -0.5,
      attentionOutputGate: true,
      linearAttention: { numKeyHeads: 2, numValueHeads: 4, keyHeadDim: 24, valueHeadDim: 16, convKernelDim: 4 },
      bosTokenId: null,
      eosTokenIds: [2],
      padTokenId: 0,
      quantization: null,
      wrapper: null,
    });
    expect(config.architecture.normOffset).toBe(1);
    // transformers: inv_freq = 1 / theta^(arange(0, dim, 2) / dim) with dim = int(head_dim · 0.25) = 8.
    expect([...ropeInvFreq(config)]).toEqual([0, 1, 2, 3].map((j) => 1 / 1e7 ** ((2 * j) / 8)));
    // q_proj holds each head's query and gate rows: [2·4·32, 64], as the golden adapter's lora_B.
    expect(moduleShape(config, 'q_proj')).toEqual([256, 64]);
  });

  it('the bnb re-save of the fixture reads the same model, quantized', () => {
    const bnb = parseModelConfig(JSON.parse(readFileSync(fixture('tiny-qwen3_5-bnb-nf4/config.json'), 'utf8')));
    const { quantization, ...rest } = bnb;
    const { quantization: none, ...plain } = parseModelConfig(textConfig);
    expect(none).toBeNull();
    expect(quantization).toMatchObject({ method: 'bitsandbytes-nf4', doubleQuant: true });
    expect(rest).toEqual(plain);
  });

  it('the vision-language layout (Qwen3_5ForConditionalGeneration) is the same text model, its weights under model.language_model.', () => {
    const text = parseModelConfig(textConfig);
    const wrapped = parseModelConfig(vlConfig());
    expect(wrapped.wrapper).toEqual(ARCHITECTURES.qwen3_5_text.wrapper);
    expect({ ...wrapped, wrapper: null }).toEqual(text);
    // A released config may carry tie_word_embeddings and the token ids at its top level only.
    const topLevel = parseModelConfig(vlConfig({ eos_token_id: 7 }, { tie_word_embeddings: undefined, eos_token_id: undefined }));
    expect(topLevel).toMatchObject({ tieWordEmbeddings: true, eosTokenIds: [7] });
    // model_type alone (architectures dropped, as bnb re-saves do) finds the wrapper too.
    expect(parseModelConfig(vlConfig({ architectures: undefined })).wrapper).not.toBeNull();
  });

  it('refuses a wrapper without its text model, or with another one inside', () => {
    expect(configError(vlConfig({ text_config: undefined })).message).toMatch(/"text_config" is missing; Qwen3_5ForConditionalGeneration keeps the text model's settings there/);
    expect(configError(vlConfig({}, { model_type: 'qwen3' })).message).toMatch(/"text_config\.model_type" is "qwen3"; expected "qwen3_5_text"/);
    expect(configError(vlConfig({ model_type: 'qwen3_5_text' })).message).toMatch(/does not match model_type "qwen3_5_text" \(expected "qwen3_5"\)/);
    // A text field is read from text_config, and its errors say so.
    expect(configError(vlConfig({}, { linear_num_value_heads: 3 })).message).toMatch(/linear_num_value_heads \(3\) must be a multiple of linear_num_key_heads \(2\)/);
    expect(configError(vlConfig({}, { hidden_size: '64' })).message).toMatch(/"text_config\.hidden_size" must be an integer/);
  });

  it("the config class's defaults: full_attention_interval 4 without layer_types, partial_rotary_factor 0.25, the linear_* sizes", () => {
    const { layer_types: _l, partial_rotary_factor: _p, rope_parameters: _r, linear_key_head_dim: _k, ...bare } = textConfig;
    const config = parseModelConfig({ ...bare, num_hidden_layers: 8 });
    expect(config.layerTypes).toEqual([...Array(3).fill('linear_attention'), 'full_attention', ...Array(3).fill('linear_attention'), 'full_attention']);
    expect(parseModelConfig({ ...bare, full_attention_interval: 2 }).layerTypes).toEqual(['linear_attention', 'full_attention', 'linear_attention', 'full_attention']);
    expect(config).toMatchObject({ rotaryDim: 8, rope: { theta: 10000 }, linearAttention: { keyHeadDim: 128 } });
    // No linear layer, no linear settings.
    expect(parseModelConfig({ ...textConfig, layer_types: Array(4).fill('full_attention') }).linearAttention).toBeNull();
  });

  it('refuses layer types the family does not have, both ways', () => {
    expect(configError({ ...textConfig, layer_types: ['linear_attention', 'sliding_attention', 'linear_attention', 'full_attention'] }).message)
      .toMatch(/"layer_types" must list "linear_attention" or "full_attention" for each of the 4 layers of qwen3_5_text/);
    const qwen3 = JSON.parse(readFileSync(fixture('tiny-qwen3/config.json'), 'utf8')) as Record<string, unknown>;
    expect(configError({ ...qwen3, layer_types: ['linear_attention', 'full_attention'] }).message).toMatch(/"layer_types" must all be "full_attention" for qwen3/);
    expect(configError({ ...textConfig, rope_parameters: { ...(textConfig.rope_parameters as object), partial_rotary_factor: 0.01 } }).message)
      .toMatch(/partial_rotary_factor" 0\.01 rotates 0 of head_dim 32 dims/);
  });

  it('is accepted for training, in both layouts, now that the decoder runs its Gated DeltaNet layers', async () => {
    expect(SUPPORTED_MODELS).toMatch(/Qwen3_5ForCausalLM \(qwen3_5_text\), Qwen3_5ForConditionalGeneration \(qwen3_5\)(,|$)/);
    expect(SUPPORTED_MODELS).not.toMatch(/not yet trainable/);
    for (const family of ['tiny-llama', 'tiny-qwen3', 'tiny-gemma3', 'tiny-qwen3_5']) {
      expect(() => requireTrainable(parseModelConfig(JSON.parse(readFileSync(fixture(`${family}/config.json`), 'utf8'))), family)).not.toThrow();
    }
    const files = await readModelFiles(readerFor(fileURLToPath(fixture('tiny-qwen3_5/'))));
    expect(files.config.layerTypes).toEqual(['linear_attention', 'linear_attention', 'linear_attention', 'full_attention']);
  });

  it("GGUF adapter export names llama.cpp's qwen35 (test/export-gguf.test.ts checks its tensors)", () => {
    expect(ggufArchitecture('qwen3_5_text')).toEqual({ arch: 'qwen35', permuteQK: false });
    expect(ggufArchitecture('llama')).toEqual({ arch: 'llama', permuteQK: true });
    expect(ggufArchitecture('gemma3_text')).toEqual({ arch: 'gemma3', permuteQK: false });
  });
});

describe('Qwen3.5 names', () => {
  const config = parseModelConfig(textConfig);

  it('adapter keys per layer kind are exactly the golden PEFT adapter keys (AutoModelForCausalLM)', () => {
    const golden = new SafetensorsFile(new Uint8Array(readFileSync(fixture('golden/tiny-qwen3_5/lora/adapter_init/adapter_model.safetensors'))), 'adapter_init');
    expect(adapterKeys(config, ALL_TWELVE).sort()).toEqual(golden.names().sort());
    expect(adapterKey(config, 0, 'in_proj_qkv', 'B')).toBe('base_model.model.model.layers.0.linear_attn.in_proj_qkv.lora_B.weight');
    expect(adapterKey(config, 3, 'q_proj', 'A')).toBe('base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight');
    expect(layerProjections(config, 0).map((p) => p.module)).toEqual(['in_proj_qkv', 'in_proj_z', 'in_proj_b', 'in_proj_a', 'out_proj', 'gate_proj', 'up_proj', 'down_proj']);
    expect(() => projectionPath(config, 0, 'q_proj')).toThrowError(/layer 0 \(linear_attention\) has no projection "q_proj"; it has in_proj_qkv/);
    // The attention-only targets pick only the full-attention layer's projections.
    expect(adapterKeys(config, ['q_proj', 'v_proj'])).toEqual([
      'base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight',
      'base_model.model.model.layers.3.self_attn.v_proj.lora_A.weight',
      'base_model.model.model.layers.3.self_attn.v_proj.lora_B.weight',
    ]);
  });

  it("the LoRA layout puts attention targets only on the full-attention layer, with the golden adapter's shapes", () => {
    const layout = loraLayout(config, { r: 8, alpha: 16, dropout: 0, targets: LORA_MODULES, rslora: false });
    // Each layer: its mixer's projections, then the MLP's (PEFT's order).
    const mlp = ['gate_proj', 'up_proj', 'down_proj'];
    expect(layout.slots.map((s) => `${s.layer}.${s.module}`)).toEqual([
      ...[0, 1, 2].flatMap((l) => ['in_proj_qkv', 'in_proj_z', 'in_proj_b', 'in_proj_a', 'out_proj', ...mlp].map((m) => `${l}.${m}`)),
      ...['q_proj', 'k_proj', 'v_proj', 'o_proj', ...mlp].map((m) => `3.${m}`),
    ]);
    // Every key of the golden adapter, and no other.
    expect(layout.slots.flatMap((s) => (['A', 'B'] as const).map((w) => adapterKey(config, s.layer, s.module, w))).sort()).toEqual(
      new SafetensorsFile(new Uint8Array(readFileSync(fixture('golden/tiny-qwen3_5/lora/adapter_init/adapter_model.safetensors'))), 'adapter_init').names().sort(),
    );
    const golden = new SafetensorsFile(new Uint8Array(readFileSync(fixture('golden/tiny-qwen3_5/lora/adapter_init/adapter_model.safetensors'))), 'adapter_init');
    for (const slot of layout.slots) {
      expect(golden.info(adapterKey(config, slot.layer, slot.module, 'A')).shape).toEqual([8, slot.inF]);
      expect(golden.info(adapterKey(config, slot.layer, slot.module, 'B')).shape).toEqual([slot.outF, 8]);
    }
  });

  it('the attention families name their projections as lora.ts always has', () => {
    const llama = parseModelConfig(JSON.parse(readFileSync(fixture('tiny-llama/config.json'), 'utf8')));
    for (const m of layerLoraModules(llama, 1)) expect(projectionPath(llama, 1, m)).toBe(modulePath(1, m));
    expect(layerLoraModules(llama, 1)).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  });

  it('a wrapping checkpoint: text weights renamed, the vision tower and the MTP head dropped', () => {
    const wrapper = ARCHITECTURES.qwen3_5_text.wrapper!;
    expect(textTensorName(wrapper, 'model.language_model.layers.0.linear_attn.A_log')).toBe('model.layers.0.linear_attn.A_log');
    expect(textTensorName(wrapper, 'model.language_model.embed_tokens.weight')).toBe('model.embed_tokens.weight');
    expect(textTensorName(wrapper, 'lm_head.weight')).toBe('lm_head.weight');
    expect(textTensorName(wrapper, 'model.visual.blocks.0.attn.qkv.weight')).toBeNull();
    expect(textTensorName(wrapper, 'mtp.layers.0.mlp.up_proj.weight')).toBeNull();
    expect(textTensorName(null, 'model.layers.0.mlp.up_proj.weight')).toBe('model.layers.0.mlp.up_proj.weight');
  });

  // A Qwen3_5ForConditionalGeneration checkpoint made from the fixture: its weights moved under
  // model.language_model., next to a vision tower and an MTP head.
  let dir = '';
  const text = new SafetensorsFile(new Uint8Array(readFileSync(fixture('tiny-qwen3_5/model.safetensors'))), 'tiny-qwen3_5');
  beforeAll(() => {
    dir = writeQwen3_5VlCheckpoint();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the text weights of a Qwen3_5ForConditionalGeneration checkpoint under the text names', async () => {
    const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const source = await readTensors(readerFor(dir), config.wrapper);
    expect(source.names().sort()).toEqual(text.names().sort());
    const name = 'model.layers.0.linear_attn.in_proj_qkv.weight';
    expect(source.info(name)).toMatchObject({ name, shape: [160, 64], dtype: text.info(name).dtype });
    expect(Array.from(source.float32(name))).toEqual(Array.from(text.float32(name)));
    // Loaded for training as the text model (test/qwen3_5-vl-train.test.ts trains it).
    const files = await readModelFiles(readerFor(dir));
    expect(files.config.wrapper?.className).toBe('Qwen3_5ForConditionalGeneration');
    expect(files.tensors.names().sort()).toEqual(text.names().sort());
  });

  it('the app reads it from its config.json as the text model', async () => {
    const server = await startFileServer({ vl: dir });
    try {
      const { config } = await fetchModelConfig(urlModel(`${server.base}vl/`));
      expect(config.architecture.className).toBe('Qwen3_5ForCausalLM');
      expect(config.linearAttention).toMatchObject({ numKeyHeads: 2, numValueHeads: 4 });
    } finally {
      await server.close();
    }
  });
});
