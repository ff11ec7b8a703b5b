// The merged export of a Qwen3.5 checkpoint in the released vision-language layout (Qwen3_5ForConditionalGeneration,
// made here from the tiny fixture: its text weights under model.language_model., a vision tensor and an MTP head):
// the export is the text model, the same files as the export of the text-only fixture — config (now
// Qwen3_5ForCausalLM) and every merged tensor under the text names. Pure Node.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelFiles } from '../src/io/model-files';
import { dirReader } from '../src/io/node-files';
import { prepareBaseWeights } from '../src/engine/base-weights';
import { readAdapterWeights } from '../src/engine/peft-adapter';
import { SafetensorsFile } from '../src/formats/safetensors';
import { parseModelConfig } from '../src/formats/model-config';
import { mergedConfigJson, mergedModelFiles } from '../src/export/merged-model';
import type { MergedModelInput } from '../src/export/merged-model';
import { FIXTURES, readAdapter } from './helpers/golden';
import { QWEN3_5_TEXT_CONFIG, qwen3_5VlConfig, writeQwen3_5VlCheckpoint } from './helpers/qwen3_5-vl';

const TEXT = `${FIXTURES}tiny-qwen3_5/`;

/** The released layout with tie_word_embeddings and eos_token_id at its top level only (model-config.ts reads them there). */
function vlConfig(): Record<string, unknown> {
  return qwen3_5VlConfig({ tie_word_embeddings: QWEN3_5_TEXT_CONFIG.tie_word_embeddings, eos_token_id: QWEN3_5_TEXT_CONFIG.eos_token_id }, { tie_word_embeddings: undefined, eos_token_id: undefined });
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
  let dir = '';
  beforeAll(() => {
    dir = writeQwen3_5VlCheckpoint();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the config becomes the text model's: Qwen3_5ForCausalLM, the same settings, top-level-only keys kept", () => {
    const merged = mergedConfigJson(vlConfig(), 'BF16', 'qwen3_5_text');
    expect(merged).toMatchObject({ architectures: ['Qwen3_5ForCausalLM'], model_type: 'qwen3_5_text', tie_word_embeddings: true, eos_token_id: 2, torch_dtype: 'bfloat16' });
    expect(merged).not.toHaveProperty('text_config');
    expect(merged).not.toHaveProperty('vision_config');
    expect(parseModelConfig(merged)).toEqual(parseModelConfig(QWEN3_5_TEXT_CONFIG));
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
