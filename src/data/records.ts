// The dataset formats the fine-tuner accepts, recognising which one a dataset is in, and checking
// each record so that a bad row is reported by its index with a reason a person can act on,
// instead of failing somewhere inside tokenization.

import { QloraError } from '../errors';
import { CHAT_ROLES, type ChatMessage, type ChatRole } from './chat-template';

export { parseDatasetText, type ParsedDatasetText, type DatasetTextError } from './dataset-text';

/** Every record format, in the order the page and the CLI list them. */
export const DATASET_FORMATS = ['alpaca', 'chat', 'completion', 'text'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** Stanford Alpaca: an empty or missing `input` selects the prompt without an input section. */
export interface AlpacaRecord {
  instruction: string;
  input?: string;
  output: string;
}
/** A conversation; training targets the last message, which must be the assistant's. */
export interface ChatRecord {
  messages: ChatMessage[];
}
export interface CompletionRecord {
  prompt: string;
  completion: string;
}
/** Plain text (a bare string in the dataset is read as {text}). */
export interface TextRecord {
  text: string;
}

export interface RecordByFormat {
  alpaca: AlpacaRecord;
  chat: ChatRecord;
  completion: CompletionRecord;
  text: TextRecord;
}
export type DatasetRecord = RecordByFormat[DatasetFormat];

export interface RecordError {
  /** 0-based position of the record in the dataset. */
  index: number;
  /** 1-based line of the file the record starts on, when the records came from a file. */
  line?: number;
  reason: string;
}

export interface ValidatedRecords<F extends DatasetFormat> {
  valid: { index: number; record: RecordByFormat[F] }[];
  errors: RecordError[];
}

/** Structured formats first: a record with both `messages` and `text` is a chat. */
const DETECTION_ORDER: readonly DatasetFormat[] = ['chat', 'alpaca', 'completion', 'text'];

const FIELDS_THAT_IDENTIFY: Record<DatasetFormat, string> = {
  chat: '"messages"',
  alpaca: '"instruction" and "output" (and optionally "input")',
  completion: '"prompt" and "completion"',
  text: '"text" (or plain strings)',
};

function looksLike(record: unknown, format: DatasetFormat): boolean {
  if (typeof record === 'string') return format === 'text';
  if (!isObject(record)) return false;
  switch (format) {
    case 'chat':
      return 'messages' in record;
    case 'alpaca':
      return 'instruction' in record && 'output' in record;
    case 'completion':
      return 'prompt' in record && 'completion' in record;
    case 'text':
      return 'text' in record;
  }
}

/** The format whose identifying fields most records have; records that do not fit are left to validation. */
export function detectFormat(records: unknown[]): DatasetFormat {
  if (records.length === 0) throw new QloraError('DATASET_INVALID', 'The dataset has no records.');
  let best: DatasetFormat | null = null;
  let bestCount = 0;
  for (const format of DETECTION_ORDER) {
    const count = records.reduce<number>((n, r) => n + (looksLike(r, format) ? 1 : 0), 0);
    if (count > bestCount) {
      best = format;
      bestCount = count;
    }
  }
  if (best === null) {
    const first = records[0];
    const found = isObject(first) ? `fields ${Object.keys(first).map((k) => JSON.stringify(k)).join(', ') || '(none)'}` : describeValue(first);
    const expected = DETECTION_ORDER.map((f) => `${f}: ${FIELDS_THAT_IDENTIFY[f]}`).join('; ');
    throw new QloraError(
      'DATASET_INVALID',
      `Could not tell the dataset's format: no record has the fields of a known format. The first record has ${found}. Expected one of — ${expected}.`,
    );
  }
  return best;
}

export function validateRecords<F extends DatasetFormat>(records: unknown[], format: F): ValidatedRecords<F> {
  const result: ValidatedRecords<F> = { valid: [], errors: [] };
  records.forEach((raw, index) => {
    const checked = validateRecord(raw, format);
    if ('reason' in checked) result.errors.push({ index, reason: checked.reason });
    else result.valid.push({ index, record: checked.record });
  });
  return result;
}

/** One record checked and normalised (only the format's fields kept); a reason when it is unusable. */
export function validateRecord<F extends DatasetFormat>(raw: unknown, format: F): { record: RecordByFormat[F] } | { reason: string } {
  const checked = VALIDATORS[format](raw);
  return typeof checked === 'string' ? { reason: checked } : { record: checked as RecordByFormat[F] };
}

type Validator = (raw: unknown) => DatasetRecord | string;

const VALIDATORS: Record<DatasetFormat, Validator> = {
  alpaca(raw) {
    if (!isObject(raw)) return `expected an object with "instruction" and "output", found ${describeValue(raw)}`;
    const instruction = requiredString(raw, 'instruction');
    if (typeof instruction !== 'string') return instruction.reason;
    const output = requiredString(raw, 'output');
    if (typeof output !== 'string') return output.reason;
    if (instruction.trim() === '') return '"instruction" is empty';
    if (output.trim() === '') return '"output" is empty, so there is nothing to learn';
    const input = raw.input;
    if (input === undefined || input === null) return { instruction, output };
    if (typeof input !== 'string') return `"input" must be a string, found ${describeValue(input)}`;
    return { instruction, input, output };
  },

  chat(raw) {
    if (!isObject(raw)) return `expected an object with "messages", found ${describeValue(raw)}`;
    const messages = raw.messages;
    if (messages === undefined) return 'missing field "messages"';
    if (!Array.isArray(messages)) return `"messages" must be a list, found ${describeValue(messages)}`;
    if (messages.length === 0) return '"messages" is empty';
    const checked: ChatMessage[] = [];
    for (let i = 0; i < messages.length; i++) {
      const m: unknown = messages[i];
      if (!isObject(m)) return `messages[${i}] must be an object with "role" and "content", found ${describeValue(m)}`;
      if (m.role === undefined) return `messages[${i}] is missing "role"`;
      if (typeof m.role !== 'string' || !CHAT_ROLES.includes(m.role as ChatRole)) {
        return `messages[${i}] has unknown role ${JSON.stringify(m.role)} (expected one of ${CHAT_ROLES.join(', ')})`;
      }
      if (m.content === undefined) return `messages[${i}] is missing "content"`;
      if (typeof m.content !== 'string') return `messages[${i}].content must be a string, found ${describeValue(m.content)}`;
      checked.push({ role: m.role as ChatRole, content: m.content });
    }
    const last = checked[checked.length - 1];
    if (last.role !== 'assistant') return `the last message must be from the assistant (it is the training target), found role "${last.role}"`;
    if (last.content.trim() === '') return 'the last (assistant) message is empty, so there is nothing to learn';
    return { messages: checked };
  },

  completion(raw) {
    if (!isObject(raw)) return `expected an object with "prompt" and "completion", found ${describeValue(raw)}`;
    const prompt = requiredString(raw, 'prompt');
    if (typeof prompt !== 'string') return prompt.reason;
    const completion = requiredString(raw, 'completion');
    if (typeof completion !== 'string') return completion.reason;
    if (completion.trim() === '') return '"completion" is empty, so there is nothing to learn';
    return { prompt, completion };
  },

  text(raw) {
    const text = typeof raw === 'string' ? raw : isObject(raw) ? requiredString(raw, 'text') : null;
    if (text === null) return `expected a string or an object with "text", found ${describeValue(raw)}`;
    if (typeof text !== 'string') return text.reason;
    if (text.trim() === '') return 'the text is empty';
    return { text };
  },
};

function requiredString(record: Record<string, unknown>, field: string): string | { reason: string } {
  const value = record[field];
  if (value === undefined) return { reason: `missing field "${field}"` };
  if (typeof value !== 'string') return { reason: `"${field}" must be a string, found ${describeValue(value)}` };
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short description of a bad value for an error message: its type and a clipped preview. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const shown = JSON.stringify(v);
  return `${typeof v} ${shown.length > 40 ? `${shown.slice(0, 37)}...` : shown}`;
}
