// Turning dataset records into training examples (token ids + labels with -100 where no loss is
// taken) exactly the way the reference recipes do, so the loss here equals the loss there:
// Stanford Alpaca's train.py for alpaca records (prompt tokenized alone to find the mask), the
// chat template for conversations (loss on the last assistant turn only), and TRL-style
// prompt/completion and plain-text examples.

import { QloraError, isQloraError } from '../errors';
import { validateRecord, type DatasetFormat, type DatasetRecord, type RecordByFormat, type RecordError } from './records';
import type { TextTokenizer } from './tokenizer';
import type { ColumnMapping } from './columns';

/** The label that takes no loss (PyTorch cross_entropy's default ignore_index). */
export const IGNORE_INDEX = -100;

// Stanford Alpaca's PROMPT_DICT, verbatim (test/fixtures/data-golden.json `template`).
export const ALPACA_PROMPT_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:';
export const ALPACA_PROMPT_NO_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:';

export interface TrainingExample {
  inputIds: number[];
  /** Same length as inputIds; IGNORE_INDEX where no loss is taken (before the causal shift). */
  labels: number[];
}

export interface IndexedExample extends TrainingExample {
  /** Which record (0-based) this example came from. */
  recordIndex: number;
}

export interface BuildExampleOptions {
  /** Keep at most this many tokens (the start of the example); no limit when absent. */
  maxLength?: number;
  /** Which of the record's fields holds each field the format reads (columns.ts); own names when absent. */
  columns?: ColumnMapping;
}

export interface BuildExamplesOptions extends BuildExampleOptions {
  /** 'throw' (default): one DATASET_INVALID error listing the bad records; 'skip': drop and return them. */
  onInvalid?: 'throw' | 'skip';
  /** The file line each record starts on: errors then name lines, as an editor shows them, not indices. */
  recordLines?: readonly number[];
  /** Called every PROGRESS_EVERY records and after the last, with the records done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** Records between progress calls: a million records tokenize in minutes, so the caller can say how far. */
export const PROGRESS_EVERY = 2000;

/** The prompt the model sees at generation time: Alpaca's template without the response. */
export function formatAlpacaPrompt(instruction: string, input?: string): string {
  const template = input === undefined || input === '' ? ALPACA_PROMPT_NO_INPUT : ALPACA_PROMPT_INPUT;
  // One pass, like Python's str.format_map: braces inside the values are left alone.
  return template.replace(/\{(instruction|input)\}/g, (_, field: string) => (field === 'instruction' ? instruction : (input ?? '')));
}

/** One record → one example; a record that cannot be used throws DATASET_INVALID with the reason. */
export function buildExample(record: unknown, format: DatasetFormat, tokenizer: TextTokenizer, opts: BuildExampleOptions = {}): TrainingExample {
  checkBuildOptions(format, tokenizer, opts);
  const built = tryBuildExample(record, format, tokenizer, opts);
  if ('reason' in built) throw new QloraError('DATASET_INVALID', `This record cannot be used for training: ${built.reason}.`, { reason: built.reason });
  return built;
}

/**
 * All records → examples. Bad records (wrong fields, a template that does not render, nothing left
 * to learn after truncation) are collected by index; see BuildExamplesOptions.onInvalid.
 */
export function buildExamples(
  records: unknown[],
  format: DatasetFormat,
  tokenizer: TextTokenizer,
  opts: BuildExamplesOptions = {},
): { examples: IndexedExample[]; errors: RecordError[] } {
  checkBuildOptions(format, tokenizer, opts);
  const examples: IndexedExample[] = [];
  const errors: RecordError[] = [];
  records.forEach((record, index) => {
    const built = tryBuildExample(record, format, tokenizer, opts);
    const line = opts.recordLines?.[index];
    if ('reason' in built) errors.push(line === undefined ? { index, reason: built.reason } : { index, line, reason: built.reason });
    else examples.push({ recordIndex: index, ...built });
    if (opts.onProgress && ((index + 1) % PROGRESS_EVERY === 0 || index + 1 === records.length)) opts.onProgress(index + 1, records.length);
  });
  if (errors.length > 0 && (opts.onInvalid ?? 'throw') === 'throw') {
    throw new QloraError('DATASET_INVALID', describeBadRecords(errors, records.length, format), { errors });
  }
  return { examples, errors };
}

const SHOWN_ERRORS = 5;

function describeBadRecords(errors: RecordError[], total: number, format: DatasetFormat): string {
  const byLine = errors.every((e) => e.line !== undefined);
  const shown = errors.slice(0, SHOWN_ERRORS).map((e) => (byLine ? `line ${e.line}: ${e.reason}` : `#${e.index}: ${e.reason}`));
  const more = errors.length > SHOWN_ERRORS ? `; and ${errors.length - SHOWN_ERRORS} more` : '';
  return (
    `${errors.length} of ${total} records cannot be used as ${format} training examples${byLine ? '' : ' (records are numbered from 0)'} — ` +
    `${shown.join('; ')}${more}. Fix or remove these records, or skip them (onInvalid: 'skip').`
  );
}

/** Problems that concern every record (tokenizer, options) are thrown once, not reported per record. */
function checkBuildOptions(format: DatasetFormat, tokenizer: TextTokenizer, opts: BuildExampleOptions): void {
  const { maxLength } = opts;
  if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength >= 2)) {
    throw new QloraError('ARGUMENT_INVALID', `maxLength must be an integer ≥ 2 (a token and its next-token target), got ${maxLength}.`);
  }
  if (format === 'chat') {
    if (tokenizer.chatTemplate === null) {
      throw new QloraError('TOKENIZER_INVALID', "Chat records need the tokenizer's chat_template, and this tokenizer has none. Use a chat model's tokenizer, or the alpaca / completion / text format.");
    }
  } else if (tokenizer.eosToken === null) {
    throw new QloraError('TOKENIZER_INVALID', `The ${format} format ends every target with the EOS token, and this tokenizer has no eos_token. Set eos_token in tokenizer_config.json.`);
  }
}

function tryBuildExample(raw: unknown, format: DatasetFormat, tokenizer: TextTokenizer, opts: BuildExampleOptions): TrainingExample | { reason: string } {
  const checked = validateRecord(raw, format, opts.columns);
  if ('reason' in checked) return checked;
  let example: TrainingExample;
  try {
    example = EXAMPLE_BUILDERS[format](checked.record, tokenizer, charBudget(tokenizer, opts.maxLength));
  } catch (e) {
    if (isQloraError(e) && e.code === 'DATASET_INVALID') return { reason: e.message };
    throw e;
  }
  return truncate(example, opts.maxLength);
}

function truncate(example: TrainingExample, maxLength: number | undefined): TrainingExample | { reason: string } {
  const cut = maxLength === undefined ? example : { inputIds: example.inputIds.slice(0, maxLength), labels: example.labels.slice(0, maxLength) };
  // labels[0] is never a target after the causal shift, so it cannot carry the loss on its own.
  if (!cut.labels.some((label, t) => t > 0 && label !== IGNORE_INDEX)) {
    const promptTokens = example.labels.findIndex((l) => l !== IGNORE_INDEX);
    return {
      reason:
        maxLength !== undefined && promptTokens >= maxLength
          ? `the prompt alone is ${promptTokens} tokens, so nothing is left to learn within maxLength ${maxLength}; shorten it or raise maxLength`
          : 'no tokens to learn from (every label is masked)',
    };
  }
  return cut;
}

/**
 * Characters of a rendered record worth tokenizing: maxLength tokens span at most maxLength ×
 * maxTokenChars characters, so the rest can only be truncated away. Cutting first keeps a 50 MB
 * line from being tokenized whole (a minute and gigabytes) to keep its first 512 tokens. Doubled,
 * plus a margin, so normalization and the merges at the cut cannot reach the kept tokens.
 */
function charBudget(tokenizer: TextTokenizer, maxLength: number | undefined): number {
  return maxLength === undefined ? Infinity : 2 * maxLength * Math.max(1, tokenizer.maxTokenChars) + 1024;
}

const cut = (text: string, chars: number): string => (text.length > chars ? text.slice(0, chars) : text);

type ExampleBuilder = (record: DatasetRecord, tokenizer: TextTokenizer, chars: number) => TrainingExample;

const EXAMPLE_BUILDERS: Record<DatasetFormat, ExampleBuilder> = {
  // Stanford Alpaca: source = prompt, target = output + eos; both tokenized with special tokens
  // (BOS for Llama), labels masked on the first len(tokenize(source)) tokens of tokenize(source + target).
  alpaca(record, tokenizer, chars) {
    const { instruction, input, output } = record as RecordByFormat['alpaca'];
    const prompt = formatAlpacaPrompt(instruction, input);
    return maskPrefix(tokenizer, prompt, prompt + output + eos(tokenizer), true, chars);
  },

  // The template writes any BOS itself, so the renderings are tokenized without special tokens, as
  // apply_chat_template(tokenize=True) does. The prefix is everything up to the last assistant
  // reply, generation prompt included.
  chat(record, tokenizer, chars) {
    const { messages } = record as RecordByFormat['chat'];
    const prefix = tokenizer.applyChatTemplate(messages.slice(0, -1), { addGenerationPrompt: true });
    const full = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: false });
    if (!full.startsWith(prefix)) {
      throw new QloraError(
        'DATASET_INVALID',
        'the chat template renders the conversation before the last assistant reply (with the generation prompt) differently from the start of the whole conversation, so the reply cannot be isolated for the loss',
      );
    }
    return maskPrefix(tokenizer, prefix, full, false, chars);
  },

  completion(record, tokenizer, chars) {
    const { prompt, completion } = record as RecordByFormat['completion'];
    return maskPrefix(tokenizer, prompt, prompt + completion + eos(tokenizer), true, chars);
  },

  text(record, tokenizer, chars) {
    const { text } = record as RecordByFormat['text'];
    const inputIds = tokenizer.encode(cut(text + eos(tokenizer), chars));
    return { inputIds, labels: inputIds.slice() };
  },
};

/** tokenize(full), with labels masked on as many tokens as tokenize(prefix) has. */
function maskPrefix(tokenizer: TextTokenizer, prefix: string, full: string, addSpecialTokens: boolean, chars: number): TrainingExample {
  const inputIds = tokenizer.encode(cut(full, chars), { addSpecialTokens });
  const maskedCount = tokenizer.encode(cut(prefix, chars), { addSpecialTokens }).length;
  return { inputIds, labels: inputIds.map((id, t) => (t < maskedCount ? IGNORE_INDEX : id)) };
}

function eos(tokenizer: TextTokenizer): string {
  return tokenizer.eosToken as string; // checked in checkBuildOptions
}
