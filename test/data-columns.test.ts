// The column mapping (which dataset column holds each record field) and the dataset check that lists
// every problem of a file at once, with its kind: pure logic, no GPU.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { createTokenizer } from '../src/data/tokenizer';
import { formatColumnMapping, parseColumnMapping, suggestColumnMapping } from '../src/data/columns';
import { checkDataset, prepareDataset } from '../src/data/dataset';
import type { DatasetProblemDetails } from '../src/data/dataset';
import { detectFormat, validateRecord } from '../src/data/records';
import { DEFAULT_SETTINGS } from '../src/engine/run-settings';
import { settingsFromQuery, settingsToQuery } from '../src/ui/settings-query';
import { QloraError } from '../src/errors';
import { decodeDatasetBytes } from '../src/data/text-encoding';
import { describeError } from '../src/ui/error-view';
import { FIXTURES } from './helpers/golden';

const tok = createTokenizer(JSON.parse(readFileSync(`${FIXTURES}tokenizer/tokenizer.json`, 'utf8')), JSON.parse(readFileSync(`${FIXTURES}tokenizer/tokenizer_config.json`, 'utf8')));

function thrown(f: () => unknown): QloraError {
  try {
    f();
  } catch (e) {
    return e as QloraError;
  }
  throw new Error('expected an error');
}

const lines = (...rows: (object | string)[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

describe('the column mapping', () => {
  it('reads and writes "field=column" pairs, in the fields\' order', () => {
    const m = parseColumnMapping(' output = answer , instruction=question ');
    expect(m).toEqual({ instruction: 'question', output: 'answer' });
    expect(formatColumnMapping(m)).toBe('instruction=question,output=answer');
    expect(parseColumnMapping('')).toEqual({});
  });

  it('refuses an unknown field, a missing column and a field named twice, saying how to write it', () => {
    expect(thrown(() => parseColumnMapping('question=instruction')).message).toMatch(/"question" is not a record field.*instruction=question,output=answer/);
    expect(thrown(() => parseColumnMapping('output')).message).toMatch(/"output" needs the dataset's column/);
    expect(thrown(() => parseColumnMapping('output=a,output=b')).message).toMatch(/names "output" twice/);
  });

  it('is read by detection and validation, whose reasons name the dataset\'s own column', () => {
    const columns = { instruction: 'question', output: 'answer' };
    expect(detectFormat([{ question: 'q', answer: 'a' }], columns)).toBe('alpaca');
    expect(validateRecord({ question: 'q', answer: 'a', context: 'c' }, 'alpaca', { ...columns, input: 'context' })).toEqual({ record: { instruction: 'q', input: 'c', output: 'a' } });
    expect(validateRecord({ question: 'q' }, 'alpaca', columns)).toEqual({ reason: 'missing field "answer" (the output column)' });
    expect(validateRecord({ conversation: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] }, 'chat', { messages: 'conversation' })).toHaveProperty('record');
  });

  it('gives the same examples as the file with the fields renamed', () => {
    const renamed = lines({ instruction: 'Say hi', output: 'Hi.' }, { instruction: 'Count', input: '1 2', output: '3' });
    const own = lines({ q: 'Say hi', a: 'Hi.' }, { q: 'Count', ctx: '1 2', a: '3' });
    const want = prepareDataset(renamed, 'r.jsonl', tok).examples;
    const got = prepareDataset(own, 'o.jsonl', tok, { columns: parseColumnMapping('instruction=q,input=ctx,output=a') });
    expect(got.format).toBe('alpaca');
    expect(got.examples).toEqual(want);
  });

  it('is suggested from usual column names when no record fits a format', () => {
    expect(suggestColumnMapping(['id', 'Question', 'answer'])).toEqual({ instruction: 'Question', output: 'answer' });
    expect(suggestColumnMapping(['question', 'context', 'response'])).toEqual({ instruction: 'question', input: 'context', output: 'response' });
    expect(suggestColumnMapping(['conversations'])).toEqual({ messages: 'conversations' });
    expect(suggestColumnMapping(['foo', 'bar'])).toBeNull();
  });

  it('is a URL setting that survives a shared link', () => {
    const { settings } = settingsFromQuery('columns=instruction%3Dquestion%2Coutput%3Danswer');
    expect(settings.columns).toEqual({ instruction: 'question', output: 'answer' });
    expect(settingsToQuery(settings)).toBe('columns=instruction%3Dquestion%2Coutput%3Danswer');
    expect(settingsToQuery(DEFAULT_SETTINGS)).toBe('');
    expect(settingsToQuery({ ...DEFAULT_SETTINGS, columns: undefined })).toBe(''); // a run stored before the setting
    expect(() => settingsFromQuery('columns=answer')).toThrow(/"answer" is not a record field/);
  });
});

describe('every problem of a dataset at once', () => {
  // Line 2 cannot be read, line 4 has no output, line 5 an empty one: one check, one error, all three.
  const bad = lines({ instruction: 'a', output: 'b' }, '{"instruction": "no closing brace"', { instruction: 'c', output: 'd' }, { instruction: 'no output' }, { instruction: 'e', output: ' ' });

  it('the check lists syntax and content problems together, before any tokenizer', () => {
    const c = checkDataset(bad, 'bad.jsonl');
    expect(c.problem).toBe('rows');
    expect(c.lineErrors.map((e) => e.line)).toEqual([2]);
    expect(c.recordErrors.map((e) => e.line)).toEqual([4, 5]);
    expect([c.records, c.usable, c.format]).toEqual([4, 2, 'alpaca']);
    expect(c.message).toMatch(/3 row\(s\) .*line 2: not valid JSON.*line 4: missing field "output".*line 5: "output" is empty/);
    expect(checkDataset(lines({ instruction: 'a', output: 'b' }), 'ok.jsonl')).toMatchObject({ problem: null, message: null, usable: 1 });
  });

  it("prepareDataset's stop lists them all in one error (not line 2, then line 4 after a skip)", () => {
    const e = thrown(() => prepareDataset(bad, 'bad.jsonl', tok));
    expect(e.code).toBe('DATASET_INVALID');
    const d = e.details as DatasetProblemDetails;
    expect(d.problem).toBe('rows');
    expect([...d.lineErrors.map((r) => r.line), ...d.errors.map((r) => r.line)]).toEqual([2, 4, 5]);
    const skipped = prepareDataset(bad, 'bad.jsonl', tok, { onInvalid: 'skip' });
    expect(skipped.examples.map((x) => x.recordIndex)).toEqual([0, 1]);
  });

  it('an empty file is "empty", whatever onInvalid says: skipping cannot help', () => {
    for (const [text, name] of [['', 'e.jsonl'], ['  \n', 'e.json'], ['instruction,output\n', 'e.csv']] as const) {
      expect(checkDataset(text, name).problem, name).toBe('empty');
      const e = thrown(() => prepareDataset(text, name, tok, { onInvalid: 'skip' }));
      expect((e.details as DatasetProblemDetails).problem, name).toBe('empty');
      expect(e.message).toMatch(/is empty/);
    }
  });

  it('fields of other names are "columns", with the columns found; unreadable lines only are "unreadable"', () => {
    const qa = lines({ question: 'q1', answer: 'a1' }, { question: 'q2', answer: 'a2', id: 7 });
    const c = checkDataset(qa, 'qa.jsonl');
    expect([c.problem, c.format, c.columns]).toEqual(['columns', null, ['question', 'answer', 'id']]);
    expect(c.message).toMatch(/column mapping/);
    // Told the format, the records miss its fields: still the mapping's problem, not rows to skip.
    const told = checkDataset(qa, 'qa.jsonl', { format: 'alpaca' });
    expect([told.problem, told.usable]).toEqual(['columns', 0]);
    expect((thrown(() => prepareDataset(qa, 'qa.jsonl', tok, { format: 'alpaca', onInvalid: 'skip' })).details as DatasetProblemDetails).problem).toBe('columns');
    expect(checkDataset(qa, 'qa.jsonl', { columns: { instruction: 'question', output: 'answer' } })).toMatchObject({ problem: null, usable: 2, format: 'alpaca' });
    expect(checkDataset('{oops\n{also bad\n', 'x.jsonl').problem).toBe('unreadable');
  });

  it('the error view offers only what can work: skip for rows, the mapping for columns, nothing to skip in an empty or undecodable file', () => {
    const actions = (e: unknown) => describeError(e).actions.map((a) => a.action);
    const rows = thrown(() => prepareDataset(bad, 'bad.jsonl', tok));
    expect(actions(rows)).toContain('skip-bad-rows');
    expect(actions(thrown(() => prepareDataset(lines({ q: 'a', a: 'b' }), 'qa.jsonl', tok)))).toEqual(['map-columns']);
    expect(actions(thrown(() => prepareDataset('', 'e.jsonl', tok)))).toEqual([]);
    expect(describeError(thrown(() => prepareDataset('', 'e.jsonl', tok))).title).toBe('The dataset is empty');
    expect(actions(thrown(() => decodeDatasetBytes(new TextEncoder().encode('{"text":"a"}\nbinary\0here\n'), 'nul.jsonl')))).toEqual([]);
  });
});
