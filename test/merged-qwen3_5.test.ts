// The merged export of a Qwen3.5 checkpoint in the released vision-language layout (Qwen3_5ForConditionalGeneration,
// made here from the tiny fixture: its text weights under model.language_model., a vision tensor and an MTP head):
// the export is the text model, the same files as the export of the text-only fixture — config (now
// Qwen3_5ForCausalLM) and every merged tensor under the text names. Pure Node.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelFiles } from '../src/io/model-files';
import { dirReader } from '../src/io/node-files';
import { prepareBaseWeights } from '../src/engine/base-weights';
import { readAdapterWeights } from '../src/engine/peft-adapter';
import { SafetensorsFile, writeSafetensors } from '../src/formats/safetensors';
import { parseModelConfig } from '../src/formats/model-config';
import { mergedConfigJson, mergedModelFiles } from '../src/export/merged-model';
import type { MergedModelInput } from '../src/export/merged-model';
import { FIXTURES, readAdapter } from './helpers/golden';

const TEXT = `${FIXTURES}tiny-qwen3_5/`;
const textJson = JSON.parse(readFileSync(`${TEXT}config.json`, 'utf8')) as Record<string, unknown>;

/** Qwen/Qwen3.5-0.8B's layout around the fixture's text config; tie_word_embeddings and eos_token_id at the top only. */
function vlConfig(): Record<string, unknown> {
  const { architectures: _a, tie_word_embeddings: tie, eos_token_id: eos, ...inner } = textJson;
  return {
    architectures: ['Qwen3_5ForConditionalGeneration'], model_type: 'qwen3_5', text_config: inner,
    vision_config: { model_type: 'qwen3_5', depth: 2, hidden_size: 32 }, image_token_id: 248056, tie_word_embeddings: tie, eos_token_id: eos,
  };
}

async function mergedFiles(modelDir: string): Promise<Map<string, Uint8Array>> {
  const files = await readModelFiles(dirReader(modelDir));
  const adapter = readAdapter(`${FIXTURES}golden/tiny-qwen3_5/lora/adapter_step3/`);
  const layout = adapter.layout(files.config);
  const input: MergedModelInput = {
    config: files.config, configJson: JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')), weights: prepareBaseWeights(files.tensors, files.config, 'f32'),
    layout, params: readAdapterWeights(adapter.file, layout), tokenizerFiles: {}, dtype: 'F16',
  };
  return new Map([...mergedModelFiles(input)].map((f) => [f.name, f.bytes]));
}

describe('merged export of the vision-language layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwen3_5-vl-merge-'));
  beforeAll(() => {
    const text = new SafetensorsFile(new Uint8Array(readFileSync(`${TEXT}model.safetensors`)), 'tiny-qwen3_5');
    const moved = text.names().map((name) => ({ ...text.info(name), name: name.replace(/^model\./, 'model.language_model.'), data: text.bytes(name) }));
    const extra = [
      { name: 'model.visual.patch_embed.proj.weight', dtype: 'F32' as const, shape: [2, 3], data: new Float32Array(6) },
      { name: 'mtp.fc.weight', dtype: 'F32' as const, shape: [2], data: new Float32Array(2) },
    ];
    writeFileSync(join(dir, 'model.safetensors'), writeSafetensors([...moved, ...extra]));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(vlConfig()));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(`${TEXT}${f}`, join(dir, f));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the config becomes the text model's: Qwen3_5ForCausalLM, the same settings, top-level-only keys kept", () => {
    const merged = mergedConfigJson(vlConfig(), 'BF16', 'qwen3_5_text');
    expect(merged).toMatchObject({ architectures: ['Qwen3_5ForCausalLM'], model_type: 'qwen3_5_text', tie_word_embeddings: true, eos_token_id: 2, torch_dtype: 'bfloat16' });
    expect(merged).not.toHaveProperty('text_config');
    expect(merged).not.toHaveProperty('vision_config');
    expect(parseModelConfig(merged)).toEqual(parseModelConfig(textJson));
  });

  it('writes the same files as the merged export of the text-only checkpoint', async () => {
    const [vl, text] = [await mergedFiles(dir), await mergedFiles(TEXT)];
    expect([...vl.keys()]).toEqual([...text.keys()]);
    const config = (m: Map<string, Uint8Array>) => JSON.parse(new TextDecoder().decode(m.get('config.json')));
    expect(parseModelConfig(config(vl))).toEqual(parseModelConfig(config(text)));
    const vlWeights = new SafetensorsFile(vl.get('model.safetensors')!, 'vl');
    const textWeights = new SafetensorsFile(text.get('model.safetensors')!, 'text');
    expect(vlWeights.names()).toEqual(textWeights.names());
    expect(vlWeights.names()).toContain('model.layers.0.linear_attn.in_proj_qkv.weight');
    expect(vlWeights.names().some((n) => n.startsWith('model.language_model.') || n.startsWith('model.visual.') || n.startsWith('mtp.'))).toBe(false);
    for (const name of vlWeights.names()) expect(Buffer.from(vlWeights.bytes(name)).equals(Buffer.from(textWeights.bytes(name))), name).toBe(true);
  });
});
