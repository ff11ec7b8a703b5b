// A Qwen3_5ForConditionalGeneration checkpoint made from the tiny text fixture, as the released Qwen3.5
// checkpoints are laid out: config.json with the text model under text_config, the text weights under
// model.language_model., next to a vision tower (model.visual.*) and a multi-token-prediction head (mtp.*)
// that a text fine-tuner never reads (the MTP tensor holds a NaN, so reading it would show).
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../src/formats/safetensors';
import { FIXTURES } from './golden';

export const QWEN3_5_TEXT_CONFIG = JSON.parse(readFileSync(`${FIXTURES}tiny-qwen3_5/config.json`, 'utf8')) as Record<string, unknown>;

/** The wrapping config.json: the fixture's fields under text_config (`text` overrides them), `overrides` at top level. */
export function qwen3_5VlConfig(overrides: Record<string, unknown> = {}, text: Record<string, unknown> = {}): Record<string, unknown> {
  const { architectures: _a, ...inner } = QWEN3_5_TEXT_CONFIG;
  return {
    architectures: ['Qwen3_5ForConditionalGeneration'],
    model_type: 'qwen3_5',
    text_config: { ...inner, ...text },
    vision_config: { model_type: 'qwen3_5', depth: 2, hidden_size: 32, out_hidden_size: 64 },
    image_token_id: 248056,
    tie_word_embeddings: true,
    transformers_version: '5.18.0',
    ...overrides,
  };
}

/** Writes the wrapped checkpoint of `fixture` (tiny-qwen3_5, or its bnb re-save) to a new temporary folder; returns it. */
export function writeQwen3_5VlCheckpoint(fixture = 'tiny-qwen3_5'): string {
  const dir = mkdtempSync(join(tmpdir(), 'qwen3_5-vl-'));
  const text = new SafetensorsFile(new Uint8Array(readFileSync(`${FIXTURES}${fixture}/model.safetensors`)), fixture);
  const moved = text.names().map((name) => ({ ...text.info(name), name: name.replace(/^model\./, 'model.language_model.'), data: text.bytes(name) }));
  const extra = [
    { name: 'model.visual.patch_embed.proj.weight', dtype: 'F32' as const, shape: [2, 3], data: new Float32Array(6) },
    { name: 'mtp.fc.weight', dtype: 'F32' as const, shape: [2], data: new Float32Array([Number.NaN, 1]) }, // never read, so never checked
  ];
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors([...moved, ...extra]));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(qwen3_5VlConfig()));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(`${FIXTURES}${fixture}/${f}`, join(dir, f));
  return dir;
}
