// The dataset formats the fine-tuner accepts, recognising which one a dataset is in, and checking
// each record so that a bad row is reported by its index with a reason a person can act on,
// instead of failing somewhere inside tokenization.

import { QloraError } from '../errors';
import { CHAT_ROLES, type ChatMessage, type ChatRole } from './chat-template';
import { columnOf, fieldName, type ColumnMapping, type RecordField } from './columns';

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

/** The fields whose presence identifies a format (the others, like alpaca's input, are optional). */
const IDENTIFYING_FIELDS: Record<DatasetFormat, readonly RecordField[]> = {
  chat: ['messages'],
  alpaca: ['instruction', 'output'],
  completion: ['prompt', 'completion'],
  text: ['text'],
};

function looksLike(record: unknown, format: DatasetFormat, columns: ColumnMapping): boolean {
  if (typeof record === 'string') return format === 'text';
  if (!isObject(record)) return false;
  return IDENTIFYING_FIELDS[format].every((f) => columnOf(columns, f) in record);
}

/** The format whose identifying fields most records have (read through `columns`); records that do not fit are left to validation. */
export function detectFormat(records: unknown[], columns: ColumnMapping = {}): DatasetFormat {
  if (records.length === 0) throw new QloraError('DATASET_INVALID', 'The dataset has no records.');
  let best: DatasetFormat | null = null;
  let bestCount = 0;
  for (const format of DETECTION_ORDER) {
    const count = records.reduce<number>((n, r) => n + (looksLike(r, format, columns) ? 1 : 0), 0);
    if (count > bestCount) {
      best = format;
      bestCount = count;
    }
  }
  if (best === null) {
    const first = records[0];
    const found = isObject(first) ? `fields ${Object.keys(first).map((k) => JSON.stringify(k)).join(', ') || '(none)'}` : describeValue(first);
    const expected = DETECTION_ORDER.map((f) => `${f}: ${FIELDS_THAT_IDENTIFY[f]}`).join('; ');
    const mapped = Object.keys(columns).length ? ' (with the column mapping given)' : '';
    throw new QloraError(
      'DATASET_INVALID',
      `Could not tell the dataset's format: no record has the fields of a known format${mapped}. The first record has ${found}. Expected one of — ${expected}. Name your columns with a column mapping (e.g. instruction=question,output=answer).`,
      { problem: 'columns', columns: isObject(first) ? Object.keys(first) : [] },
    );
  }
  return best;
}

export function validateRecords<F extends DatasetFormat>(records: unknown[], format: F, columns: ColumnMapping = {}): ValidatedRecords<F> {
  const result: ValidatedRecords<F> = { valid: [], errors: [] };
  records.forEach((raw, index) => {
    const checked = validateRecord(raw, format, columns);
    if ('reason' in checked) result.errors.push({ index, reason: checked.reason });
    else result.valid.push({ index, record: checked.record });
  });
  return result;
}

/**
 * One record checked and normalised (only the format's fields kept, under their own names: `columns`
 * says which of the record's fields holds each); a reason, naming the record's own field, when it is unusable.
 */
export function validateRecord<F extends DatasetFormat>(raw: unknown, format: F, columns: ColumnMapping = {}): { record: RecordByFormat[F] } | { reason: string } {
  const checked = VALIDATORS[format](raw, columns);
  return typeof checked === 'string' ? { reason: checked } : { record: checked as RecordByFormat[F] };
}

type Validator = (raw: unknown, columns: ColumnMapping) => DatasetRecord | string;

const VALIDATORS: Record<DatasetFormat, Validator> = {
  alpaca(raw, columns) {
    const name = (f: RecordField) => fieldName(columns, f);
    if (!isObject(raw)) return `expected an object with ${name('instruction')} and ${name('output')}, found ${describeValue(raw)}`;
    const instruction = requiredString(raw, 'instruction', columns);
    if (typeof instruction !== 'string') return instruction.reason;
    const output = requiredString(raw, 'output', columns);
    if (typeof output !== 'string') return output.reason;
    if (instruction.trim() === '') return `${name('instruction')} is empty`;
    if (output.trim() === '') return `${name('output')} is empty, so there is nothing to learn`;
    const input = raw[columnOf(columns, 'input')];
    if (input === undefined || input === null) return { instruction, output };
    if (typeof input !== 'string') return `${name('input')} must be a string, found ${describeValue(input)}`;
    return { instruction, input, output };
  },

  chat(raw, columns) {
    const name = fieldName(columns, 'messages');
    if (!isObject(raw)) return `expected an object with ${name}, found ${describeValue(raw)}`;
    const messages = raw[columnOf(columns, 'messages')];
    if (messages === undefined) return `missing field ${name}`;
    if (!Array.isArray(messages)) return `${name} must be a list, found ${describeValue(messages)}`;
    if (messages.length === 0) return `${name} is empty`;
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

  completion(raw, columns) {
    if (!isObject(raw)) return `expected an object with ${fieldName(columns, 'prompt')} and ${fieldName(columns, 'completion')}, found ${describeValue(raw)}`;
    const prompt = requiredString(raw, 'prompt', columns);
    if (typeof prompt !== 'string') return prompt.reason;
    const completion = requiredString(raw, 'completion', columns);
    if (typeof completion !== 'string') return completion.reason;
    if (completion.trim() === '') return `${fieldName(columns, 'completion')} is empty, so there is nothing to learn`;
    return { prompt, completion };
  },

  text(raw, columns) {
    const text = typeof raw === 'string' ? raw : isObject(raw) ? requiredString(raw, 'text', columns) : null;
    if (text === null) return `expected a string or an object with ${fieldName(columns, 'text')}, found ${describeValue(raw)}`;
    if (typeof text !== 'string') return text.reason;
    if (text.trim() === '') return 'the text is empty';
    return { text };
  },
};

function requiredString(record: Record<string, unknown>, field: RecordField, columns: ColumnMapping): string | { reason: string } {
  const value = record[columnOf(columns, field)];
  if (value === undefined) return { reason: `missing field ${fieldName(columns, field)}` };
  if (typeof value !== 'string') return { reason: `${fieldName(columns, field)} must be a string, found ${describeValue(value)}` };
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
