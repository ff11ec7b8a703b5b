// Plain-text files (.txt: one document per blank-line-separated block) and the file line each record
// starts on, so a record that cannot be used is named by the line an editor shows (issue 12, points 4-5).
import { describe, it, expect } from 'vitest';
import { parseDatasetText } from '../src/data/dataset-text';
import { buildExamples } from '../src/data/examples';
import type { TextTokenizer } from '../src/data/tokenizer';

describe('dataset text', () => {
  it('reads a .txt file as plain text: blocks separated by blank lines, else one document', () => {
    const two = parseDatasetText('The first document,\non two lines.\n\n\nThe second.\n', 'notes.txt');
    expect(two).toEqual({ records: [{ text: 'The first document,\non two lines.' }, { text: 'The second.' }], lines: [1, 5], errors: [], syntax: 'text' });
    const one = parseDatasetText('text\nno header here, commas, and "quotes"\n', 'story.txt');
    expect(one.records).toEqual([{ text: 'text\nno header here, commas, and "quotes"' }]);
    expect(parseDatasetText('\n  \n', 'empty.txt').errors).toEqual([{ line: 1, reason: 'the file is empty' }]);
  });

  it('gives the line each record starts on, for JSON lists, JSON Lines and CSV', () => {
    const json = '[\n  {"a": "x,\\"[{"},\n  {\n    "b": [1, {"c": 2}]\n  },\n\n  "s", 3\n]';
    expect(parseDatasetText(json, 'd.json').lines).toEqual([2, 3, 7, 7]);
    expect(parseDatasetText('{"a":1}\n\nnot json\n{"a":2}\n', 'd.jsonl')).toMatchObject({ lines: [1, 4], errors: [{ line: 3 }] });
    expect(parseDatasetText('text\n"multi\nline"\nsecond\n', 'd.csv').lines).toEqual([2, 4]);
  });

  it('names a bad record by its line when the lines are known', () => {
    const tokenizer = { encode: (s: string) => [...s].map((c) => c.charCodeAt(0)), eosToken: '</s>', chatTemplate: null, maxTokenChars: 1 } as unknown as TextTokenizer;
    const records = [{ instruction: 'a', output: 'b' }, { instruction: 'no output' }];
    expect(() => buildExamples(records, 'alpaca', tokenizer, { recordLines: [1, 5] })).toThrow(/line 5: missing field "output"/);
    expect(buildExamples(records, 'alpaca', tokenizer, { recordLines: [1, 5], onInvalid: 'skip' }).errors).toEqual([{ index: 1, line: 5, reason: 'missing field "output"' }]);
  });
});
