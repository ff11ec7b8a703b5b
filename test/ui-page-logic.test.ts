// The page's small pure decisions, in Node: how a typed model address is read (issue 19, point 6),
// what the downloads are named (point 8) and what Start says when it cannot start (point 2).
import { describe, it, expect } from 'vitest';
import { parseModelInput } from '../src/ui/model-input';
import { adapterZipName } from '../src/ui/export-names';
import { startBlocker } from '../src/ui/start-blocker';
import type { MemoryReport } from '../src/worker/protocol';

describe('parseModelInput', () => {
  it('reads Hub ids, Hub pages with or without https:// and their revisions', () => {
    expect(parseModelInput('HuggingFaceTB/SmolLM2-135M-Instruct')).toEqual({ kind: 'hub', id: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: null });
    expect(parseModelInput('huggingface.co/Qwen/Qwen3-0.6B')).toEqual({ kind: 'hub', id: 'Qwen/Qwen3-0.6B', revision: null });
    expect(parseModelInput(' https://huggingface.co/Qwen/Qwen3-0.6B/ ')).toEqual({ kind: 'hub', id: 'Qwen/Qwen3-0.6B', revision: null });
    expect(parseModelInput('hf.co/google/gemma-3-270m-it/tree/v1.0')).toEqual({ kind: 'hub', id: 'google/gemma-3-270m-it', revision: 'v1.0' });
    expect(parseModelInput('https://huggingface.co/org/m/resolve/abc123/config.json')).toEqual({ kind: 'hub', id: 'org/m', revision: 'abc123' });
  });

  it('takes a bare host as https (http for this machine) and keeps full and page-relative addresses', () => {
    expect(parseModelInput('example.com/models/x')).toEqual({ kind: 'url', url: 'https://example.com/models/x' });
    expect(parseModelInput('localhost:8000/m/')).toEqual({ kind: 'url', url: 'http://localhost:8000/m/' });
    expect(parseModelInput('127.0.0.1:5173/fixtures/tiny/')).toEqual({ kind: 'url', url: 'http://127.0.0.1:5173/fixtures/tiny/' });
    expect(parseModelInput('http://10.0.0.2/m/')).toEqual({ kind: 'url', url: 'http://10.0.0.2/m/' });
    expect(parseModelInput('./demo/tiny-llama/')).toEqual({ kind: 'url', url: './demo/tiny-llama/' });
    expect(parseModelInput('/models/x/')).toEqual({ kind: 'url', url: '/models/x/' });
  });

  it('refuses what is neither, saying what to type', () => {
    for (const bad of ['', 'models/x/y', 'my model', 'ftp://example.com/m/', 'huggingface.co/datasets/a/b', 'huggingface.co/Qwen', 'owner/bad..name']) {
      const r = parseModelInput(bad);
      expect(r.kind, bad).toBe('invalid');
      if (r.kind === 'invalid') expect(r.message).toMatch(/owner\/name/);
    }
  });
});

describe('adapterZipName', () => {
  it('names the zip after the model, the dataset and the run', () => {
    expect(adapterZipName({ id: 'run-m4abc12-3xy', name: 'SmolLM2-135M-Instruct · capitals.json' }, 'HuggingFaceTB/SmolLM2-135M-Instruct')).toBe('SmolLM2-135M-Instruct-capitals-m4abc12-adapter.zip');
    expect(adapterZipName({ id: 'run-k1-2', name: 'tiny llama · my data (v2).jsonl' }, null)).toBe('tiny-llama-my-data-v2-k1-adapter.zip');
    expect(adapterZipName(null, 'Qwen/Qwen3-0.6B')).toBe('Qwen3-0.6B-adapter.zip');
    expect(adapterZipName(null, null)).toBe('adapter.zip');
  });
});

describe('startBlocker', () => {
  const fits = { fits: true, message: null, fixes: [] } as unknown as MemoryReport;
  const tooBig = { fits: false, message: 'needs 9 GB of 8 GB.', fixes: [{ kind: 'batch', label: 'Batch 4 → 2', patch: { batchSize: 2 } }] } as unknown as MemoryReport;
  it('says why Start is disabled, and nothing while busy or ready', () => {
    expect(startBlocker({ invalidFields: [], memory: fits, busy: false })).toBeNull();
    expect(startBlocker({ invalidFields: ['maxLength'], memory: tooBig, busy: true })).toBeNull();
    expect(startBlocker({ invalidFields: ['maxLength'], memory: tooBig, busy: false })).toMatchObject({ kind: 'invalid-fields', fields: ['maxLength'] });
    expect(startBlocker({ invalidFields: ['maxLength', 'lr'], memory: null, busy: false }, (k) => k.toUpperCase())?.text).toMatch(/2 settings are not valid \(MAXLENGTH, LR\)\. Fix them/);
    const b = startBlocker({ invalidFields: [], memory: tooBig, busy: false });
    expect(b?.kind).toBe('does-not-fit');
    expect(b?.text).toMatch(/does not fit.*needs 9 GB of 8 GB\. One click each/);
  });
});
