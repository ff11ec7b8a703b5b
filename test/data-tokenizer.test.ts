// The tokenizer wrapper against the fixture tokenizer (ChatML, no BOS) and hand-made variants of
// it: a Llama-style post_processor that adds BOS, config flags, missing pad, malformed files.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTokenizer } from '../src/data/tokenizer';
import { isQloraError } from '../src/errors';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const readJson = (path: string): any => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8'));

const tokenizerJson = readJson('tokenizer/tokenizer.json');
const tokenizerConfig = readJson('tokenizer/tokenizer_config.json');
const golden = readJson('data-golden.json');

/** tokenizer.json with a TemplateProcessing post_processor that prepends <|im_start|> as a stand-in BOS (id 1). */
function withBosPostProcessor(json: any): any {
  const bos = '<|im_start|>';
  return {
    ...json,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [1], tokens: [bos] } },
    },
  };
}

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(isQloraError(thrown), `expected a QloraError, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
}

describe('createTokenizer on the fixture tokenizer', () => {
  const tok = createTokenizer(tokenizerJson, tokenizerConfig);

  it('reads the special tokens and sizes from the config', () => {
    expect(tok.eosToken).toBe('<|im_end|>');
    expect(tok.eosTokenId).toBe(2);
    expect(tok.padTokenId).toBe(0);
    expect(tok.bosToken).toBeNull();
    expect(tok.bosTokenId).toBeNull();
    expect(tok.vocabSize).toBe(512);
    expect(tok.chatTemplate).toBe(tokenizerConfig.chat_template);
  });

  it('encodes special tokens in text to their single ids', () => {
    expect(tok.encode(golden.chat.text)).toEqual(golden.chat.input_ids);
    expect(tok.encode('<|im_end|>')).toEqual([2]);
    expect(tok.encode('<|endoftext|><|im_start|>')).toEqual([0, 1]);
  });

  it('adds nothing with special tokens on, as this tokenizer has no post_processor', () => {
    const text = golden.examples[2].text;
    expect(tok.encode(text)).toEqual(golden.examples[2].input_ids);
    expect(tok.encode(text, { addSpecialTokens: false })).toEqual(golden.examples[2].input_ids);
    expect(tok.encode('')).toEqual([]);
  });

  it('decodes back to the text, optionally without special tokens', () => {
    const ids = golden.chat.input_ids;
    expect(tok.decode(ids)).toBe(golden.chat.text);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nReverse the following word: apple\nassistant\nelppa\n');
    expect(tok.decode([])).toBe('');
    // No clean-up of spaces before punctuation (transformers v5 default).
    expect(tok.decode(tok.encode('a , b .'))).toBe('a , b .');
  });

  it('renders the chat template like apply_chat_template', () => {
    expect(tok.applyChatTemplate(golden.chat.messages, { addGenerationPrompt: false })).toBe(golden.chat.text);
    expect(tok.applyChatTemplate(golden.chat.messages.slice(0, 1), { addGenerationPrompt: true })).toBe(
      '<|im_start|>user\nReverse the following word: apple<|im_end|>\n<|im_start|>assistant\n',
    );
  });
});

describe('createTokenizer variants', () => {
  it('adds BOS when the post_processor adds it, and not with addSpecialTokens: false', () => {
    const tok = createTokenizer(withBosPostProcessor(tokenizerJson), { ...tokenizerConfig, bos_token: '<|im_start|>' });
    const plain = createTokenizer(tokenizerJson, tokenizerConfig).encode('hello');
    expect(tok.bosTokenId).toBe(1);
    expect(tok.encode('hello')).toEqual([1, ...plain]);
    expect(tok.encode('hello', { addSpecialTokens: false })).toEqual(plain);
  });

  it('honours add_bos_token / add_eos_token: true when the post_processor does not add them', () => {
    const config = { ...tokenizerConfig, bos_token: '<|im_start|>', add_bos_token: true, add_eos_token: true };
    const tok = createTokenizer(tokenizerJson, config);
    const plain = tok.encode('hello', { addSpecialTokens: false });
    expect(tok.encode('hello')).toEqual([1, ...plain, 2]);
    // ...and never twice when the post_processor already adds BOS.
    expect(createTokenizer(withBosPostProcessor(tokenizerJson), config).encode('hello')).toEqual([1, ...plain, 2]);
  });

  it('falls back to EOS for padding when there is no pad token', () => {
    const tok = createTokenizer(tokenizerJson, { ...tokenizerConfig, pad_token: null });
    expect(tok.padTokenId).toBe(2);
  });

  it('accepts special tokens written as AddedToken objects', () => {
    const tok = createTokenizer(tokenizerJson, { ...tokenizerConfig, eos_token: { __type: 'AddedToken', content: '<|im_end|>', special: true } });
    expect(tok.eosToken).toBe('<|im_end|>');
    expect(tok.eosTokenId).toBe(2);
  });

  it('passes bos_token / eos_token to the chat template, and omits a missing one', () => {
    const template = "{{ bos_token }}[{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}]{% if add_generation_prompt %}A:{% endif %}";
    const tok = createTokenizer(tokenizerJson, { ...tokenizerConfig, chat_template: template });
    expect(tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).toBe('[user:hi<|im_end|>]A:');
    const withBos = createTokenizer(tokenizerJson, { ...tokenizerConfig, bos_token: '<|endoftext|>', chat_template: template });
    expect(withBos.applyChatTemplate([], { addGenerationPrompt: false })).toBe('<|endoftext|>[]');
  });

  it('picks the "default" template from a list, and a separate chat_template.jinja wins', () => {
    const listed = [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }];
    expect(createTokenizer(tokenizerJson, { ...tokenizerConfig, chat_template: listed }).chatTemplate).toBe('D');
    expect(createTokenizer(tokenizerJson, tokenizerConfig, { chatTemplate: 'J' }).chatTemplate).toBe('J');
  });

  it('reports a chat without a template, and a template that raises, with their codes', () => {
    const none = createTokenizer(tokenizerJson, { ...tokenizerConfig, chat_template: undefined });
    expect(none.chatTemplate).toBeNull();
    expectCode(() => none.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: true }), 'TOKENIZER_INVALID');
    const strict = createTokenizer(tokenizerJson, { ...tokenizerConfig, chat_template: "{{ raise_exception('roles must alternate') }}" });
    expectCode(() => strict.applyChatTemplate([], { addGenerationPrompt: true }), 'DATASET_INVALID');
  });

  it('rejects malformed tokenizer files with TOKENIZER_INVALID', () => {
    expectCode(() => createTokenizer(null, tokenizerConfig), 'TOKENIZER_INVALID');
    expectCode(() => createTokenizer([], tokenizerConfig), 'TOKENIZER_INVALID');
    expectCode(() => createTokenizer({ version: '1.0' }, tokenizerConfig), 'TOKENIZER_INVALID');
    expectCode(() => createTokenizer({ ...tokenizerJson, model: { type: 'NoSuchModel' } }, tokenizerConfig), 'TOKENIZER_INVALID');
    expectCode(() => createTokenizer(tokenizerJson, 'not an object'), 'TOKENIZER_INVALID');
    expectCode(() => createTokenizer(tokenizerJson, { ...tokenizerConfig, eos_token: '<|not_a_token|>' }), 'TOKENIZER_INVALID');
    expectCode(() => createTokenizer(tokenizerJson, { ...tokenizerConfig, eos_token: 42 }), 'TOKENIZER_INVALID');
    expectCode(() => createTokenizer(tokenizerJson, { ...tokenizerConfig, chat_template: '{% for %}' }), 'TOKENIZER_INVALID');
  });
});
