// Bad input gets a clear error, never a crash or silent garbage: a corrupt or truncated checkpoint
// (the message names the file and the tensor), a config of an unsupported architecture (the message
// names what is supported), malformed dataset records (reported by index with the reason).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, copyFileSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirReader } from '../src/io/node-files';
import { readModelFiles, readModelConfig } from '../src/io/model-files';
import { prepareDataset } from '../src/data/dataset';
import { createTokenizer } from '../src/data/tokenizer';
import { QloraError } from '../src/errors';
import { FIXTURES } from './helpers/golden';

function modelCopy(mutate: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'qlora-bad-'));
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) copyFileSync(`${FIXTURES}tiny-llama/${f}`, join(dir, f));
  mutate(dir);
  return dir;
}

async function loadError(dir: string): Promise<QloraError> {
  try {
    await readModelFiles(dirReader(dir));
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    return e as QloraError;
  }
  throw new Error('expected an error');
}

describe('clear errors', () => {
  it('a truncated checkpoint names the file', async () => {
    const dir = modelCopy((d) => {
      const bytes = readFileSync(join(d, 'model.safetensors'));
      writeFileSync(join(d, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000));
    });
    const e = await loadError(dir);
    expect(e.code).toBe('WEIGHTS_CORRUPT');
    expect(e.message).toContain('model.safetensors');
  });

  it('a tensor whose byte length does not match its shape is named', async () => {
    const dir = modelCopy((d) => {
      const bytes = new Uint8Array(readFileSync(join(d, 'model.safetensors')));
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = new TextDecoder().decode(bytes.subarray(8, 8 + n)).replace('"model.norm.weight":{"dtype":"F32","shape":[64]', '"model.norm.weight":{"dtype":"F32","shape":[65]');
      bytes.set(new TextEncoder().encode(header), 8);
      writeFileSync(join(d, 'model.safetensors'), bytes);
    });
    const e = await loadError(dir);
    expect(e.code).toBe('WEIGHTS_CORRUPT');
    expect(e.message).toContain('model.norm.weight');
  });

  it('garbage instead of a checkpoint', async () => {
    const dir = modelCopy((d) => writeFileSync(join(d, 'model.safetensors'), 'not a safetensors file at all'));
    const e = await loadError(dir);
    expect(e.code).toBe('WEIGHTS_CORRUPT');
    expect(e.message).toContain('model.safetensors');
  });

  it('an unknown architecture names what is supported', async () => {
    const dir = modelCopy((d) => {
      const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }));
    });
    const e = await readModelConfig(dirReader(dir)).catch((x) => x);
    expect(e).toBeInstanceOf(QloraError);
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('GPT2LMHeadModel');
    expect(e.message).toContain('LlamaForCausalLM');
    expect(e.message).toContain('Qwen2ForCausalLM');
  });

  it('malformed records are reported by their line in the file with the reason', () => {
    const tok = createTokenizer(JSON.parse(readFileSync(`${FIXTURES}tokenizer/tokenizer.json`, 'utf8')), JSON.parse(readFileSync(`${FIXTURES}tokenizer/tokenizer_config.json`, 'utf8')));
    const records = [{ instruction: 'a', output: 'b' }, { instruction: 'c' }, { instruction: 3, output: 'x' }, { instruction: 'd', output: 'e' }];
    let err: QloraError | undefined;
    try {
      prepareDataset(records.map((r) => JSON.stringify(r)).join('\n'), 'bad.jsonl', tok, { format: 'alpaca' });
    } catch (e) {
      err = e as QloraError;
    }
    expect(err?.code).toBe('DATASET_INVALID');
    expect(err?.message).toMatch(/line 2: .*output/);
    expect(err?.message).toMatch(/line 3: .*instruction/);
    const skipped = prepareDataset(JSON.stringify(records), 'bad.json', tok, { format: 'alpaca', onInvalid: 'skip' });
    expect(skipped.examples.map((e) => e.recordIndex)).toEqual([0, 3]);
    expect(skipped.recordErrors.map((e) => e.index)).toEqual([1, 2]);
    const lines = prepareDataset('{"text":"ok"}\n{oops\n{"text":"fine"}\n', 'd.jsonl', tok, { onInvalid: 'skip' });
    expect(lines.lineErrors.map((e) => e.line)).toEqual([2]);
    expect(lines.examples.length).toBe(2);
  });
});
