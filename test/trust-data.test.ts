// Hostile or unlucky datasets and chat templates (issue #10): bounded time, the project's error, and
// nothing dropped or kept silently.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QloraError } from '../src/errors';
import { buildExample } from '../src/data/examples';
import { describeDatasetProgress, prepareDataset } from '../src/data/dataset';
import type { DatasetProgress } from '../src/data/dataset';
import { datasetProgressLog } from '../src/cli/setup';
import { createTokenizer } from '../src/data/tokenizer';
import { compileChatTemplate } from '../src/data/chat-template';
import { splitExamples } from '../src/data/split';
import { DEFAULT_SETTINGS } from '../src/engine/run-settings';
import { settingsFromQuery } from '../src/ui/settings-query';
import { loadData, summarize } from '../src/app-core/data-state';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const readJson = (path: string): any => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8'));
const tokJson = readJson('tokenizer/tokenizer.json');
const tokCfg = readJson('tokenizer/tokenizer_config.json');
const tok = createTokenizer(tokJson, tokCfg);
const NO_TOKENS = { bosToken: null, eosToken: null, padToken: null, unkToken: null };

function thrown(fn: () => unknown): QloraError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    return e as QloraError;
  }
  throw new Error('expected a QloraError');
}

describe('chat template render budget', () => {
  it('range(100000000) is refused at once, as a template problem', () => {
    const t0 = performance.now();
    const render = compileChatTemplate('{% for i in range(100000000) %}{% endfor %}', NO_TOKENS);
    const e = thrown(() => render([{ role: 'user', content: 'hi' }], false));
    expect(e.code).toBe('TOKENIZER_INVALID');
    expect(e.message).toContain('steps');
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('nested loops and string doubling are bounded too', () => {
    const t0 = performance.now();
    const nested = compileChatTemplate('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', NO_TOKENS);
    expect(thrown(() => nested([], false)).code).toBe('TOKENIZER_INVALID');
    const doubling = compileChatTemplate('{% set ns = namespace(s="ab") %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}', NO_TOKENS);
    expect(thrown(() => doubling([], false)).message).toContain('characters');
    expect(performance.now() - t0).toBeLessThan(10000);
  });

  it('a dataset of chat records stops at the first record, not after rendering every one', () => {
    const hostile = createTokenizer(tokJson, { ...tokCfg, chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}{% for i in range(100000000) %}{% endfor %}' });
    const records = Array.from({ length: 50 }, () => ({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }));
    const t0 = performance.now();
    const e = thrown(() => prepareDataset(JSON.stringify(records), 'chat.json', hostile, { format: 'chat', onInvalid: 'skip' }));
    expect(e.code).toBe('TOKENIZER_INVALID');
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('real templates render as before (and range() still works)', () => {
    const render = compileChatTemplate('{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(6, 0, -2) %}{{ i }}{% endfor %}{{ messages[0].content }}', NO_TOKENS);
    expect(render([{ role: 'user', content: 'x' }], false)).toBe('012642x');
  });
});

describe('dataset options', () => {
  const text = JSON.stringify([{ text: 'one' }, { text: 'two' }, { text: 'three' }]);
  it('limit -1 is refused instead of dropping the last record', () => {
    expect(thrown(() => prepareDataset(text, 'd.json', tok, { limit: -1 })).code).toBe('ARGUMENT_INVALID');
    expect(thrown(() => prepareDataset(text, 'd.json', tok, { limit: 0 })).code).toBe('ARGUMENT_INVALID');
    expect(prepareDataset(text, 'd.json', tok, { limit: 2 }).records.length).toBe(2);
  });
});

describe('the validation split is capped (issue 20, item 7)', () => {
  it('10 % of a million examples holds out valMax, not 100,000; the rest trains', () => {
    const examples = Array.from({ length: 1_000_000 }, (_, i) => i);
    const capped = splitExamples(examples, 0.1, 3);
    expect(capped.val.length).toBe(DEFAULT_SETTINGS.valMax);
    expect(DEFAULT_SETTINGS.valMax).toBeLessThanOrEqual(500);
    expect(capped.train.length).toBe(1_000_000 - DEFAULT_SETTINGS.valMax);
    expect(capped.valWanted).toBe(100_000);
    // The capped set is part of the uncapped one: raising valMax only adds validation examples.
    const all = splitExamples(examples, 0.1, 3, Infinity);
    expect(all.val.length).toBe(100_000);
    const uncappedVal = new Set(all.val);
    expect(capped.val.every((i) => uncappedVal.has(i))).toBe(true);
    expect(splitExamples(examples.slice(0, 9), 0.5, 3).val).toEqual([]);
  });

  it('valMax is a page URL setting, validated', () => {
    expect(settingsFromQuery('valMax=50').settings.valMax).toBe(50);
    expect(() => settingsFromQuery('valMax=0')).toThrow(/valMax/);
    expect(() => settingsFromQuery('valMax=2.5')).toThrow(/valMax/);
  });

  it('the Data panel summary says the split was capped', () => {
    const text = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `doc ${i}` })).join('\n');
    const d = loadData(text, 'd.jsonl', tok, { ...DEFAULT_SETTINGS, valSplit: 0.5, valMax: 40 }, 'stop');
    expect(d.val.length).toBe(40);
    expect(d.train.length).toBe(260);
    const summary = summarize(d, tok);
    expect(summary.val).toBe(40);
    expect(summary.valCapped).toEqual({ wanted: 150, max: 40 });
    expect(summarize(loadData(text, 'd.jsonl', tok, { ...DEFAULT_SETTINGS, valSplit: 0.1 }, 'stop'), tok).valCapped).toBeNull();
  });
});

describe('progress while a large dataset is prepared (issue 20, item 7)', () => {
  it('prepareDataset reports parsing, then records tokenized, up to all of them', () => {
    const text = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ text: `d${i}` })).join('\n');
    const seen: DatasetProgress[] = [];
    prepareDataset(text, 'd.jsonl', tok, { onProgress: (p) => seen.push(p) });
    expect(seen[0]).toEqual({ phase: 'parsing', done: 0, total: text.length });
    const tokenizing = seen.slice(1);
    expect(tokenizing.map((p) => p.done)).toEqual([2000, 4000, 5000]);
    expect(tokenizing.every((p) => p.phase === 'tokenizing' && p.total === 5000)).toBe(true);
    expect(describeDatasetProgress('d.jsonl', tokenizing[0])).toBe('Tokenizing d.jsonl: 2,000 of 5,000 records (40 %)');
  });

  it('the CLI says it on stderr every 5 s once it takes 2 s, and nothing for a quick dataset', () => {
    let t = 0;
    const lines: string[] = [];
    const log = datasetProgressLog('big.jsonl', () => t, (l) => lines.push(l));
    log({ phase: 'parsing', done: 0, total: 200e6 });
    for (const [at, done] of [[1000, 1], [2500, 2], [4000, 3], [7600, 4], [9000, 5], [9100, 10]]) {
      t = at;
      log({ phase: 'tokenizing', done, total: 10 });
    }
    expect(lines).toEqual(['Reading big.jsonl (200.0 M characters)', 'Tokenizing big.jsonl: 2 of 10 records (20 %)', 'Tokenizing big.jsonl: 4 of 10 records (40 %)', 'Tokenizing big.jsonl: 10 of 10 records (100 %)']);
    const quiet: string[] = [];
    t = 0;
    const quick = datasetProgressLog('small.jsonl', () => t, (l) => quiet.push(l));
    quick({ phase: 'parsing', done: 0, total: 100 });
    quick({ phase: 'tokenizing', done: 10, total: 10 });
    expect(quiet).toEqual([]);
  });
});

describe('a huge record is cut before it is tokenized', () => {
  it('a 20 MB line takes well under a second per record and keeps the same first tokens', () => {
    const word = 'lorem ipsum dolor sit amet, ';
    const huge = word.repeat(Math.ceil(20e6 / word.length));
    const t0 = performance.now();
    const ex = buildExample({ text: huge }, 'text', tok, { maxLength: 64 });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(ex.inputIds.length).toBe(64);
    // The same tokens as tokenizing a prefix far longer than the cut and truncating afterwards.
    expect(ex.inputIds).toEqual(tok.encode(huge.slice(0, 200_000)).slice(0, 64));
    const alpaca = buildExample({ instruction: 'Repeat.', input: '', output: huge }, 'alpaca', tok, { maxLength: 64 });
    expect(alpaca.inputIds.length).toBe(64);
  });
});
