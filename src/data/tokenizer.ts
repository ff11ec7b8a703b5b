// The one tokenizer interface the rest of the project uses, wrapping @huggingface/tokenizers
// (tokenizer.json) and tokenizer_config.json so that `encode` gives the ids transformers'
// `tokenizer(text)` gives, and chat templates render like `apply_chat_template`. Pure: it takes
// the parsed JSON files; loading them is src/io's job.

import { Tokenizer } from '@huggingface/tokenizers';
import { QloraError } from '../errors';
import { compileChatTemplate, pickDefaultChatTemplate, type ChatMessage } from './chat-template';

export type { ChatMessage, ChatRole } from './chat-template';

export interface TextTokenizer {
  /** Like transformers' `tokenizer(text).input_ids`; addSpecialTokens (default true) adds BOS etc. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** skipSpecialTokens defaults to false, as in transformers. */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  readonly eosTokenId: number | null;
  readonly eosToken: string | null;
  /** The pad token, or the EOS token when the tokenizer defines none (see createTokenizer). */
  readonly padTokenId: number | null;
  readonly bosTokenId: number | null;
  readonly bosToken: string | null;
  readonly chatTemplate: string | null;
  /** Largest token id + 1, added tokens included (transformers' `len(tokenizer)`). */
  readonly vocabSize: number;
  /** Characters of the longest vocabulary entry: n tokens never span more than n × this of normalized text. */
  readonly maxTokenChars: number;
  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt: boolean }): string;
}

export interface CreateTokenizerOptions {
  /** A chat template from a separate chat_template.jinja file; wins over tokenizer_config's. */
  chatTemplate?: string;
}

export function createTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  opts: CreateTokenizerOptions = {},
): TextTokenizer {
  const json = checkTokenizerJson(tokenizerJson);
  const config = checkTokenizerConfig(tokenizerConfig);

  const bosToken = tokenString(config, 'bos_token');
  const eosToken = tokenString(config, 'eos_token');
  const padToken = tokenString(config, 'pad_token');
  const unkToken = tokenString(config, 'unk_token');

  let inner: Tokenizer;
  try {
    inner = new Tokenizer(json, { ...config, bos_token: bosToken, eos_token: eosToken, pad_token: padToken, unk_token: unkToken });
  } catch (e) {
    throw invalid(`tokenizer.json could not be loaded: ${errorText(e)}`);
  }

  const idOf = (token: string | null, field: string): number | null => {
    if (token === null) return null;
    const id = inner.token_to_id(token);
    if (id === undefined) throw invalid(`tokenizer_config.json names ${JSON.stringify(token)} as ${field}, but tokenizer.json has no such token.`);
    return id;
  };
  const bosTokenId = idOf(bosToken, 'bos_token');
  const eosTokenId = idOf(eosToken, 'eos_token');
  // Without a pad token, pad with EOS, as most fine-tuning recipes do (`tokenizer.pad_token =
  // tokenizer.eos_token`). Padding positions carry label -100 and are masked out, so the choice
  // never reaches the loss.
  const padTokenId = idOf(padToken, 'pad_token') ?? eosTokenId;

  let vocabSize = 0;
  let maxTokenChars = 1;
  for (const [token, id] of inner.get_vocab(true)) {
    vocabSize = Math.max(vocabSize, id + 1);
    if (typeof token === 'string') maxTokenChars = Math.max(maxTokenChars, token.length); // ids with gaps give holes
  }

  // What the post_processor adds around a text (e.g. Llama's TemplateProcessing adds BOS). An
  // explicit add_bos_token / add_eos_token: true in the config is honoured when the
  // post_processor does not add that token itself — transformers rebuilds the post_processor from
  // these flags for Llama-family tokenizers.
  let probe: number[];
  try {
    probe = inner.encode('', { add_special_tokens: true }).ids;
  } catch (e) {
    throw invalid(`tokenizer.json could not encode text: ${errorText(e)}`);
  }
  const prependBos = config.add_bos_token === true && bosTokenId !== null && probe[0] !== bosTokenId;
  const appendEos = config.add_eos_token === true && eosTokenId !== null && probe[probe.length - 1] !== eosTokenId;

  // transformers v5 no longer cleans up spaces around punctuation on decode by default; byte-level
  // tokenizers need the exact text back.
  const cleanUpSpaces = config.clean_up_tokenization_spaces === true;

  const chatTemplate = opts.chatTemplate ?? pickDefaultChatTemplate(config.chat_template);
  const renderChat = chatTemplate === null ? null : compileChatTemplate(chatTemplate, { bosToken, eosToken, padToken, unkToken });

  return {
    bosToken,
    bosTokenId,
    eosToken,
    eosTokenId,
    padTokenId,
    chatTemplate,
    vocabSize,
    maxTokenChars,
    encode(text, encodeOpts = {}) {
      const addSpecialTokens = encodeOpts.addSpecialTokens ?? true;
      const ids = inner.encode(text, { add_special_tokens: addSpecialTokens }).ids;
      if (addSpecialTokens && prependBos) ids.unshift(bosTokenId as number);
      if (addSpecialTokens && appendEos) ids.push(eosTokenId as number);
      return ids;
    },
    decode(ids, decodeOpts = {}) {
      if (ids.length === 0) return ''; // the library throws on an empty list
      return inner.decode(ids, { skip_special_tokens: decodeOpts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: cleanUpSpaces });
    },
    applyChatTemplate(messages, chatOpts) {
      if (renderChat === null) {
        throw invalid('This tokenizer has no chat_template, so chat records cannot be rendered. Use a model with a chat template, or the alpaca / completion / text format.');
      }
      return renderChat(messages, chatOpts.addGenerationPrompt);
    },
  };
}

type JsonObject = Record<string, unknown>;

function checkTokenizerJson(value: unknown): JsonObject {
  if (!isObject(value)) throw invalid(`tokenizer.json must be a JSON object, found ${describe(value)}.`);
  if (!isObject(value.model)) throw invalid('tokenizer.json has no "model" object; is this really a Hugging Face tokenizer.json?');
  if (value.added_tokens !== undefined && !Array.isArray(value.added_tokens)) throw invalid('tokenizer.json "added_tokens" must be a list.');
  // The library insists these keys exist; HF files may omit the ones that are null.
  return {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...value,
    added_tokens: value.added_tokens ?? [],
  };
}

function checkTokenizerConfig(value: unknown): JsonObject {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalid(`tokenizer_config.json must be a JSON object, found ${describe(value)}.`);
  return value;
}

/** A special token in tokenizer_config.json: a string, an AddedToken object {content, ...}, or null. */
function tokenString(config: JsonObject, field: string): string | null {
  const value = config[field];
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  throw invalid(`tokenizer_config.json "${field}" must be a string or {"content": ...}, found ${describe(value)}.`);
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function invalid(message: string): QloraError {
  return new QloraError('TOKENIZER_INVALID', message);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
