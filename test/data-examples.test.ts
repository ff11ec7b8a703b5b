// Records → training examples against the reference (data-golden.json: Stanford Alpaca masking and
// a ChatML chat), plus format detection, per-record validation and dataset-file parsing.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QloraError } from '../src/errors';
import {
  ALPACA_PROMPT_INPUT,
  ALPACA_PROMPT_NO_INPUT,
  IGNORE_INDEX,
  buildExample,
  buildExamples,
  formatAlpacaPrompt,
} from '../src/data/examples';
import { detectFormat, parseDatasetText, validateRecords } from '../src/data/records';
import { createTokenizer } from '../src/data/tokenizer';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const readJson = (path: string): any => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8'));

const golden = readJson('data-golden.json');
const tok = createTokenizer(readJson('tokenizer/tokenizer.json'), readJson('tokenizer/tokenizer_config.json'));

function thrown(fn: () => unknown): QloraError {
  try {
    fn();
  } catch (e) {
    if (e instanceof QloraError) return e;
    throw e;
  }
  throw new Error('expected a QloraError');
}

describe('alpaca examples match the reference', () => {
  it('uses the Stanford Alpaca template strings', () => {
    expect(ALPACA_PROMPT_INPUT).toBe(golden.template.prompt_input);
    expect(ALPACA_PROMPT_NO_INPUT).toBe(golden.template.prompt_no_input);
  });

  golden.examples.forEach((g: any, i: number) => {
    it(`data-golden example ${i}: prompt, ids and labels`, () => {
      expect(formatAlpacaPrompt(g.example.instruction, g.example.input)).toBe(g.prompt);
      const example = buildExample(g.example, 'alpaca', tok);
      expect(example.inputIds).toEqual(g.input_ids);
      expect(example.labels).toEqual(g.labels);
      expect(tok.decode(example.inputIds)).toBe(g.text);
    });
  });

  it('treats a missing or null input like an empty one', () => {
    const { instruction, output } = golden.examples[0].example;
    expect(buildExample({ instruction, output }, 'alpaca', tok)).toEqual(buildExample({ instruction, input: '', output }, 'alpaca', tok));
    expect(buildExample({ instruction, input: null, output }, 'alpaca', tok).labels).toEqual(golden.examples[0].labels);
  });

  it('fills the template in one pass, leaving braces and $ in the values alone', () => {
    expect(formatAlpacaPrompt('say {input} $&', 'x {instruction}')).toBe(
      golden.template.prompt_input.replace('{instruction}', () => 'say {input} $&').replace('### Input:\n{input}', () => '### Input:\nx {instruction}'),
    );
  });
});

describe('chat examples match the reference', () => {
  it('renders with the chat template and learns only the last assistant turn', () => {
    const example = buildExample({ messages: golden.chat.messages }, 'chat', tok);
    expect(example.inputIds).toEqual(golden.chat.input_ids);
    expect(example.labels).toEqual(golden.chat.labels);
  });

  it('masks earlier assistant turns in a multi-turn chat', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: 'Bye' },
    ];
    const example = buildExample({ messages }, 'chat', tok);
    const learned = example.inputIds.filter((_, t) => example.labels[t] !== IGNORE_INDEX);
    expect(tok.decode(learned)).toBe('Bye<|im_end|>\n');
  });

  it('reports a template whose prefix is not a prefix of the whole conversation', () => {
    const odd = createTokenizer(readJson('tokenizer/tokenizer.json'), {
      ...readJson('tokenizer/tokenizer_config.json'),
      chat_template: '{% for m in messages %}{{ m.content }}|{% endfor %}{% if add_generation_prompt %}>>{% endif %}',
    });
    const e = thrown(() => buildExample({ messages: golden.chat.messages }, 'chat', odd));
    expect(e.code).toBe('DATASET_INVALID');
    expect(e.message).toMatch(/not|differently/);
  });
});

// Gemma's tokenizer adds <bos> through its post-processor and its chat template writes {{ bos_token }}:
// a conversation must still get exactly one BOS, and the prompt masking stay aligned (as TRL tokenizes
// conversations: apply_chat_template, no special tokens added; plain text: tokenizer(text), BOS added).
describe('a tokenizer whose post-processor adds BOS (Gemma style)', () => {
  const BOS = 512;
  const json = readJson('tokenizer/tokenizer.json');
  const gemmaLike = createTokenizer(
    {
      ...json,
      added_tokens: [...json.added_tokens, { id: BOS, content: '<bos>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<bos>': { id: '<bos>', ids: [BOS], tokens: ['<bos>'] } },
      },
    },
    { ...readJson('tokenizer/tokenizer_config.json'), bos_token: '<bos>', add_bos_token: true, chat_template: '{{ bos_token }}' + readJson('tokenizer/tokenizer_config.json').chat_template },
  );
  const count = (ids: number[], id: number) => ids.filter((x) => x === id).length;

  it('a chat example has one BOS, first, and the same masking as without it', () => {
    const example = buildExample({ messages: golden.chat.messages }, 'chat', gemmaLike);
    expect(count(example.inputIds, BOS)).toBe(1);
    expect(example.inputIds).toEqual([BOS, ...golden.chat.input_ids]);
    expect(example.labels).toEqual([IGNORE_INDEX, ...golden.chat.labels]);
  });

  it('an Alpaca example gets the post-processor BOS once, masked with the prompt', () => {
    const g = golden.examples[0];
    const example = buildExample(g.example, 'alpaca', gemmaLike);
    expect(example.inputIds).toEqual([BOS, ...g.input_ids]);
    expect(example.labels).toEqual([IGNORE_INDEX, ...g.labels]);
  });

  it('a chat prompt for generation is tokenized without adding a second BOS', () => {
    const text = gemmaLike.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
    expect(text.startsWith('<bos>')).toBe(true);
    const ids = gemmaLike.encode(text, { addSpecialTokens: false });
    expect(ids[0]).toBe(BOS);
    expect(count(ids, BOS)).toBe(1);
    expect(count(gemmaLike.encode(text), BOS)).toBe(2); // what adding special tokens would do: the bug avoided
  });
});

describe('completion and text examples', () => {
  it('completion: prompt + completion + eos, loss on completion + eos', () => {
    const example = buildExample({ prompt: 'Q: 2+2?\nA:', completion: ' 4' }, 'completion', tok);
    const promptLength = tok.encode('Q: 2+2?\nA:').length;
    expect(example.inputIds).toEqual(tok.encode('Q: 2+2?\nA: 4<|im_end|>'));
    expect(example.labels.slice(0, promptLength).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(example.labels.slice(promptLength)).toEqual(example.inputIds.slice(promptLength));
    expect(example.inputIds.at(-1)).toBe(tok.eosTokenId);
  });

  it('text: text + eos, loss everywhere (a bare string is a text record)', () => {
    const example = buildExample('The sky is blue.', 'text', tok);
    expect(example.inputIds).toEqual(tok.encode('The sky is blue.<|im_end|>'));
    expect(example.labels).toEqual(example.inputIds);
  });
});

describe('truncation and invalid records', () => {
  const records = golden.examples.map((g: any) => g.example);

  it('keeps the start of an example', () => {
    const example = buildExample(records[2], 'alpaca', tok, { maxLength: 100 });
    expect(example.inputIds).toEqual(golden.examples[2].input_ids.slice(0, 100));
    expect(example.labels).toEqual(golden.examples[2].labels.slice(0, 100));
  });

  it('reports an example whose labels are all masked after truncation', () => {
    const e = thrown(() => buildExample(records[0], 'alpaca', tok, { maxLength: 20 }));
    expect(e.code).toBe('DATASET_INVALID');
    expect(e.message).toMatch(/prompt alone is 66 tokens.*maxLength 20/);
  });

  it('throws one DATASET_INVALID listing bad records by index, or skips them', () => {
    const mixed = [records[0], { instruction: 'x' }, records[2], { instruction: 5, output: 'y' }, 'just a string'];
    const e = thrown(() => buildExamples(mixed, 'alpaca', tok));
    expect(e.code).toBe('DATASET_INVALID');
    expect(e.message).toContain('3 of 5 records');
    expect(e.message).toContain('#1: missing field "output"');
    expect(e.details).toEqual({
      errors: [
        { index: 1, reason: 'missing field "output"' },
        { index: 3, reason: '"instruction" must be a string, found number 5' },
        { index: 4, reason: 'expected an object with "instruction" and "output", found string "just a string"' },
      ],
    });

    const { examples, errors } = buildExamples(mixed, 'alpaca', tok, { onInvalid: 'skip' });
    expect(examples.map((x) => x.recordIndex)).toEqual([0, 2]);
    expect(examples[1].inputIds).toEqual(golden.examples[2].input_ids);
    expect(errors.map((x) => x.index)).toEqual([1, 3, 4]);
  });

  it('lists only the first few bad records in the message', () => {
    const e = thrown(() => buildExamples(Array.from({ length: 9 }, () => ({})), 'text', tok));
    expect(e.message).toContain('and 4 more');
    expect((e.details as { errors: unknown[] }).errors).toHaveLength(9);
  });

  it('rejects a bad maxLength', () => {
    expect(thrown(() => buildExample(records[0], 'alpaca', tok, { maxLength: 0 })).code).toBe('ARGUMENT_INVALID');
  });
});

describe('detectFormat', () => {
  it('recognises each format by its fields', () => {
    expect(detectFormat([{ instruction: 'a', input: '', output: 'b' }])).toBe('alpaca');
    expect(detectFormat([{ messages: [] }])).toBe('chat');
    expect(detectFormat([{ prompt: 'a', completion: 'b' }])).toBe('completion');
    expect(detectFormat([{ text: 'a' }, 'b'])).toBe('text');
    expect(detectFormat([{ messages: [], text: 'rendered' }])).toBe('chat');
  });

  it('goes by the majority, leaving misfits to validation', () => {
    expect(detectFormat([{ text: 'a' }, { instruction: 'a', output: 'b' }, { instruction: 'c', output: 'd' }])).toBe('alpaca');
  });

  it('fails clearly when nothing fits', () => {
    expect(thrown(() => detectFormat([])).code).toBe('DATASET_INVALID');
    const e = thrown(() => detectFormat([{ question: 'a', answer: 'b' }]));
    expect(e.code).toBe('DATASET_INVALID');
    expect(e.message).toContain('"question", "answer"');
  });
});

describe('validateRecords', () => {
  const reasons = (records: unknown[], format: Parameters<typeof validateRecords>[1]) =>
    validateRecords(records, format).errors.map((e) => [e.index, e.reason]);

  it('reports chat problems by index with a reason', () => {
    const assistant = { role: 'assistant', content: 'ok' };
    expect(
      reasons(
        [
          { messages: [{ role: 'user', content: 'hi' }, assistant] },
          { messages: [] },
          { messages: [{ role: 'user', content: 'hi' }] },
          { messages: [{ role: 'bot', content: 'hi' }, assistant] },
          { messages: [{ role: 'user' }, assistant] },
          { messages: [{ role: 'user', content: ['x'] }, assistant] },
          { messages: 'hi' },
          {},
          { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: ' ' }] },
        ],
        'chat',
      ),
    ).toEqual([
      [1, '"messages" is empty'],
      [2, 'the last message must be from the assistant (it is the training target), found role "user"'],
      [3, 'messages[0] has unknown role "bot" (expected one of system, user, assistant, tool)'],
      [4, 'messages[0] is missing "content"'],
      [5, 'messages[0].content must be a string, found a list of 1'],
      [6, '"messages" must be a list, found string "hi"'],
      [7, 'missing field "messages"'],
      [8, 'the last (assistant) message is empty, so there is nothing to learn'],
    ]);
  });

  it('reports alpaca, completion and text problems', () => {
    expect(reasons([{ instruction: '', output: 'x' }, { instruction: 'a', input: 3, output: 'x' }, null], 'alpaca')).toEqual([
      [0, '"instruction" is empty'],
      [1, '"input" must be a string, found number 3'],
      [2, 'expected an object with "instruction" and "output", found null'],
    ]);
    expect(reasons([{ prompt: 'a' }, { prompt: 'a', completion: '' }, { prompt: '', completion: 'b' }], 'completion')).toEqual([
      [0, 'missing field "completion"'],
      [1, '"completion" is empty, so there is nothing to learn'],
    ]);
    expect(reasons(['', { text: 7 }, 'fine', { text: 'fine' }], 'text')).toEqual([
      [0, 'the text is empty'],
      [1, '"text" must be a string, found number 7'],
    ]);
  });

  it('returns the valid records normalised, with their indices', () => {
    const { valid } = validateRecords(['a', { text: 'b', extra: 1 }], 'text');
    expect(valid).toEqual([
      { index: 0, record: { text: 'a' } },
      { index: 1, record: { text: 'b' } },
    ]);
  });
});

describe('parseDatasetText', () => {
  it('reads a JSON list', () => {
    const alpaca = readFileSync(new URL('alpaca-tiny.json', FIXTURES), 'utf8');
    const parsed = parseDatasetText(alpaca, 'alpaca-tiny.json');
    expect(parsed.errors).toEqual([]);
    expect(parsed.records).toEqual(JSON.parse(alpaca));
    expect(parseDatasetText(alpaca).syntax).toBe('json');
  });

  it('reports a broken JSON list by line', () => {
    const parsed = parseDatasetText('[\n  {"text": "a"},\n  {"text": "b",,}\n]');
    expect(parsed.records).toEqual([]);
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0].line).toBe(3);
    expect(parseDatasetText('[\n  {"text": "a"},\n  {"text": "b"}').errors[0].line).toBe(3);
  });

  it('reads JSON Lines, skipping blank lines and reporting bad ones by 1-based line', () => {
    const text = '{"text": "a"}\r\n\n{"text": "b"\n{"prompt": "p", "completion": "c"}\nnot json\n';
    const parsed = parseDatasetText(text, 'data.jsonl');
    expect(parsed.syntax).toBe('jsonl');
    expect(parsed.records).toEqual([{ text: 'a' }, { prompt: 'p', completion: 'c' }]);
    expect(parsed.errors.map((e) => e.line)).toEqual([3, 5]);
    expect(parsed.errors[0].reason).toMatch(/^not valid JSON/);
    // Detected from content without an extension too.
    expect(parseDatasetText(text).errors.map((e) => e.line)).toEqual([3, 5]);
  });

  it('reads CSV with a header row and RFC 4180 quoting', () => {
    const csv =
      '\ufeffinstruction,input,output\r\n' +
      'Name a color.,,Red.\r\n' +
      '"Add, then explain.","1 + ""2""","It is ""3"".\r\nDone."\r\n' +
      '\r\n' +
      'Short,row\r\n' +
      'Last,,"x"';
    const parsed = parseDatasetText(csv, 'data.csv');
    expect(parsed.syntax).toBe('csv');
    expect(parsed.records).toEqual([
      { instruction: 'Name a color.', input: '', output: 'Red.' },
      { instruction: 'Add, then explain.', input: '1 + "2"', output: 'It is "3".\r\nDone.' },
      { instruction: 'Last', input: '', output: 'x' },
    ]);
    // The quoted newline makes "Short,row" line 6.
    expect(parsed.errors).toEqual([{ line: 6, reason: 'expected 3 fields (instruction, input, output), found 2' }]);
    expect(detectFormat(parsed.records)).toBe('alpaca');
  });

  it('reports broken CSV quoting by line', () => {
    const parsed = parseDatasetText('prompt,completion\na,"b"c\nd,e\nf,"never closed\n', 'x.csv');
    expect(parsed.records).toEqual([{ prompt: 'd', completion: 'e' }]);
    expect(parsed.errors.map((e) => e.line)).toEqual([2, 4]);
    expect(parsed.errors[1].reason).toContain('never closed');
  });

  it('reads CSV by content, and TSV by extension', () => {
    expect(parseDatasetText('text\nhello\n"a, b"\n').records).toEqual([{ text: 'hello' }, { text: 'a, b' }]);
    expect(parseDatasetText('prompt\tcompletion\na, b\tc\n', 'x.tsv').records).toEqual([{ prompt: 'a, b', completion: 'c' }]);
  });

  it('reports empty files and bad headers', () => {
    expect(parseDatasetText('  \n').errors).toEqual([{ line: 1, reason: 'the file is empty' }]);
    expect(parseDatasetText('', 'x.csv').errors).toEqual([{ line: 1, reason: 'the file is empty' }]);
    expect(parseDatasetText('text,text\na,b\n', 'x.csv').errors[0]).toEqual({ line: 1, reason: 'the header row names column "text" twice' });
  });
});
