// The page's small pure decisions, in Node: how a typed model address is read (issue 19, point 6),
// what the downloads are named (point 8), what Start says when it cannot start (point 2), and what a
// reload brings back, offers and names (point 1).
import type { DatasetCheck } from '../src/data/dataset';
import { describe, it, expect } from 'vitest';
import { parseModelInput } from '../src/ui/model-input';
import { adapterZipName, ggufAdapterName } from '../src/ui/export-names';
import { startBlocker } from '../src/ui/start-blocker';
import type { DataSummary, MemoryReport, RunRecord } from '../src/worker/protocol';
import { keptDataProblem, sessionApplies } from '../src/ui/session-keeper';
import type { PageSession } from '../src/io/page-session';
import { interruptedRun } from '../src/ui/resume-offer';
import { dataStatus } from '../src/ui/panels/data-panel';
import { EMPTY_RUN } from '../src/ui/state';
import type { AppState, DataInput } from '../src/ui/state';
import { DEFAULT_SETTINGS } from '../src/engine/run-settings';

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

  it('names a renamed run\'s downloads after its name and model, the GGUF too', () => {
    expect(adapterZipName({ id: 'run-m4abc12-3xy', name: 'Capitals, take 2' }, 'HuggingFaceTB/SmolLM2-135M-Instruct')).toBe('SmolLM2-135M-Instruct-Capitals-take-2-adapter.zip');
    expect(ggufAdapterName({ id: 'run-m4abc12-3xy', name: 'Capitals, take 2' }, 'tiny-llama', 'x.gguf')).toBe('tiny-llama-Capitals-take-2-lora-f32.gguf');
    expect(ggufAdapterName({ id: 'run-k1-2', name: 'tiny-llama · words.jsonl' }, 'tiny-llama', 'x.gguf')).toBe('tiny-llama-words-k1-lora-f32.gguf');
    expect(ggufAdapterName(null, null, 'base-lora-f32.gguf')).toBe('base-lora-f32.gguf');
    // A run known only by its id (not listed yet) is named by the model's name: no name twice.
    expect(adapterZipName({ id: 'run-k1-2', name: 'tiny-llama' }, 'tiny-llama')).toBe('tiny-llama-k1-adapter.zip');
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

describe('a reload keeps the work (issue 19, point 1)', () => {
  const saved: PageSession = { settings: { ...DEFAULT_SETTINGS, steps: 40 }, search: '?model=x', onInvalid: 'skip', data: { fileName: 'words.jsonl', origin: 'upload' } };

  it('the saved session applies to the address it was saved under and to a reload; another address starts afresh', () => {
    expect(sessionApplies(null, '', 'reload')).toBe(false);
    expect(sessionApplies(saved, '?model=x', 'navigate')).toBe(true);
    expect(sessionApplies({ ...saved, search: '' }, '', 'navigate')).toBe(true);
    expect(sessionApplies(saved, '?model=y', 'reload')).toBe(true);
    expect(sessionApplies(saved, '?model=y', 'navigate')).toBe(false);
    expect(sessionApplies(saved, '', 'navigate')).toBe(false);
  });

  it('a kept dataset that cannot be read back is said, by name', () => {
    expect(keptDataProblem(null, null)).toBeNull();
    expect(keptDataProblem(saved.data, { text: 'x', fileName: 'words.jsonl', origin: 'upload' })).toBeNull();
    expect(keptDataProblem(saved.data, null)).toMatch(/words\.jsonl, chosen before this page was reloaded, could not be read back.*choose it again/);
    expect(keptDataProblem(saved.data, { text: 'x', fileName: 'other.csv', origin: 'upload' })).toMatch(/words\.jsonl/);
  });

  it('offers the newest run that was training or paused, not the one this page runs', () => {
    const rec = (id: string, state: RunRecord['state']) => ({ id, name: id, state, step: 3, totalSteps: 60 }) as RunRecord;
    const runs = [rec('a', 'done'), rec('b', 'training'), rec('c', 'paused')];
    expect(interruptedRun({ runs, run: EMPTY_RUN }, false)?.id).toBe('b');
    expect(interruptedRun({ runs, run: { ...EMPTY_RUN, id: 'b' } }, false)?.id).toBe('c');
    expect(interruptedRun({ runs, run: EMPTY_RUN }, true)).toBeNull();
    expect(interruptedRun({ runs: [rec('a', 'stopped')], run: EMPTY_RUN }, false)).toBeNull();
  });

  it('the Data panel names the dataset the next Start uses, the demo only when it is the demo', () => {
    const base = { settings: DEFAULT_SETTINGS, dataInput: null, data: null, error: null, model: null } as unknown as AppState;
    const input = (origin: DataInput['origin'], extra: Partial<DataInput> = {}) => ({ text: '', fileName: 'words.jsonl', origin, ...extra });
    expect(dataStatus(base)).toBe('No dataset chosen: training uses the demo dataset.');
    // A kept file is checked again on load (as a newly chosen one): being read, then what the check found.
    expect(dataStatus({ ...base, dataInput: input('upload', { kept: true }) })).toBe('words.jsonl (kept in this browser from before the reload): being read.');
    const check = { fileName: 'words.jsonl', records: 3, usable: 3, format: null, problem: null } as unknown as DatasetCheck;
    expect(dataStatus({ ...base, dataInput: input('upload', { kept: true }), dataCheck: check })).toBe('words.jsonl (kept in this browser from before the reload): 3 record(s) read, no known format, every one usable. It is tokenized when the model is loaded.');
    expect(dataStatus({ ...base, dataInput: input('run', { runName: 'r1' }) })).toBe('words.jsonl (stored with the run "r1"): read when the run starts.');
    expect(dataStatus({ ...base, dataInput: input('run', { runName: 'r1' }), data: { fileName: 'words.jsonl' } as DataSummary })).toBe('Using words.jsonl (stored with the run "r1").');
    expect(dataStatus({ ...base, data: { fileName: 'words.jsonl' } as DataSummary })).toBe('Using words.jsonl.');
  });
});
