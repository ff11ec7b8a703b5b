// From a dataset file's text to training examples, for the CLI and the app alike: parse (JSON, JSONL,
// CSV, plain text), read each record's fields through the column mapping, detect or check the format,
// keep the first `limit` records, build examples, and report every problem by the file's line (syntax
// and content alike) at once, not one kind per attempt. With onInvalid 'stop' any problem is an error
// listing them all; with 'skip' the good records are kept and the problems returned. checkDataset does
// the same checks without a tokenizer, so the page can report a chosen file's problems before any model.
import { QloraError } from '../errors';
import type { TextTokenizer } from './tokenizer';
import type { DatasetFormat, RecordError } from './records';
import { detectFormat, parseDatasetText, validateRecords } from './records';
import type { ColumnMapping } from './columns';
import type { DatasetTextError, ParsedDatasetText } from './dataset-text';
import type { IndexedExample } from './examples';
import { buildExamples } from './examples';

export interface PrepareDatasetOptions {
  format?: DatasetFormat;
  /** Which of the dataset's columns holds each record field (columns.ts); own names when absent. */
  columns?: ColumnMapping;
  limit?: number;
  maxLength?: number;
  onInvalid?: 'stop' | 'skip';
  /** How far reading and tokenizing have come (a 200 MB file takes minutes: the page and the CLI say so). */
  onProgress?: (p: DatasetProgress) => void;
}

/** 'parsing': the text is being cut into records (done 0 of total characters); 'tokenizing': done of total records. */
export interface DatasetProgress {
  phase: 'parsing' | 'tokenizing';
  done: number;
  total: number;
}

/** The progress in words, for the page's busy line and the CLI's stderr. */
export function describeDatasetProgress(fileName: string, p: DatasetProgress): string {
  if (p.phase === 'parsing') return `Reading ${fileName} (${(p.total / 1e6).toFixed(1)} M characters)`;
  return `Tokenizing ${fileName}: ${p.done.toLocaleString('en')} of ${p.total.toLocaleString('en')} records (${Math.floor((100 * p.done) / Math.max(1, p.total))} %)`;
}

export interface PreparedDataset {
  format: DatasetFormat;
  records: unknown[];
  examples: IndexedExample[];
  lineErrors: DatasetTextError[];
  recordErrors: RecordError[];
  /** How the file was read (plain text is cut into documents at blank lines: the page says so). */
  syntax: ParsedDatasetText['syntax'];
}

/**
 * What kind of problem a dataset has, which decides the advice: 'empty' (no records: choose another
 * file), 'unreadable' (nothing could be read or used, skipping leaves nothing: fix the file), 'columns'
 * (records whose fields are not the format's: a column mapping), 'rows' (some rows cannot be used:
 * fix them or skip them, the rest train). Carried in a DATASET_INVALID error's details as `problem`.
 */
export type DatasetProblem = 'empty' | 'unreadable' | 'columns' | 'rows';

/** A dataset row that cannot be used, where the file shows it. */
export interface DatasetRowProblem {
  line?: number;
  index?: number;
  reason: string;
}

/** The details of a DATASET_INVALID error about a dataset (the page lists the rows and picks the advice). */
export interface DatasetProblemDetails {
  problem: DatasetProblem;
  lineErrors: DatasetTextError[];
  errors: RecordError[];
  /** The fields the records have (the column mapping's choices). */
  columns: string[];
}

/** A chosen file checked without a tokenizer: what the page shows as soon as a dataset is chosen. */
export interface DatasetCheck {
  fileName: string;
  syntax: ParsedDatasetText['syntax'];
  /** Records read (after `limit`). */
  records: number;
  /** The format detected or given; null when no record fits one. */
  format: DatasetFormat | null;
  /** Records that pass the format's checks (tokenizing can still refuse one that is too long). */
  usable: number;
  /** Fields found in the records, in order of first appearance (for the column mapping). */
  columns: string[];
  problem: DatasetProblem | null;
  /** The problem in words (the message a 'stop' would throw); null when there is none. */
  message: string | null;
  lineErrors: DatasetTextError[];
  recordErrors: RecordError[];
}

interface ReadRecords {
  parsed: ParsedDatasetText;
  records: unknown[];
  format: DatasetFormat;
  columns: string[];
}

const COLUMN_SAMPLE = 1000; // records whose fields are listed: a 1M-record file has the same columns throughout

/** Fields of the first records, in order of first appearance. */
function fieldsOf(records: readonly unknown[]): string[] {
  const seen = new Set<string>();
  for (const r of records.slice(0, COLUMN_SAMPLE)) {
    if (typeof r === 'object' && r !== null && !Array.isArray(r)) for (const k of Object.keys(r)) seen.add(k);
  }
  return [...seen];
}

function datasetError(message: string, details: DatasetProblemDetails): QloraError {
  return new QloraError('DATASET_INVALID', message, details);
}

const SHOWN = 5;

function listRows(lineErrors: DatasetTextError[], errors: RecordError[]): string {
  const rows = [...lineErrors.map((e) => ({ at: e.line, text: `line ${e.line}: ${e.reason}` })), ...errors.map((e) => ({ at: e.line ?? e.index, text: e.line !== undefined ? `line ${e.line}: ${e.reason}` : `record #${e.index}: ${e.reason}` }))]
    .sort((a, b) => a.at - b.at);
  const more = rows.length > SHOWN ? `; and ${rows.length - SHOWN} more` : '';
  return rows.slice(0, SHOWN).map((r) => r.text).join('; ') + more;
}

/** Parsing, the limit and the format: the problems no skipping can help are thrown here. */
function readRecords(parsed: ParsedDatasetText, fileName: string, opts: PrepareDatasetOptions): ReadRecords {
  let records = parsed.records;
  if (opts.limit !== undefined) {
    // slice(0, -1) would silently drop the last record.
    if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new QloraError('ARGUMENT_INVALID', `limit must be a whole number of records ≥ 1, got ${opts.limit}. Leave it out to use every record.`);
    records = records.slice(0, opts.limit);
  }
  if (records.length === 0) {
    const empty = parsed.errors.length === 0 || parsed.errors.every((e) => e.reason === 'the file is empty');
    if (empty) throw datasetError(`${fileName} is empty: it holds no records. Choose a file with one record per line (JSON Lines), a JSON list, a CSV with a header row, or plain text.`, { problem: 'empty', lineErrors: parsed.errors, errors: [], columns: [] });
    throw datasetError(`${fileName}: no record could be read, so skipping leaves nothing to train on — ${listRows(parsed.errors, [])}. Fix the file (or save it again as JSON, JSON Lines or CSV).`, { problem: 'unreadable', lineErrors: parsed.errors, errors: [], columns: [] });
  }
  const columns = fieldsOf(records);
  let format = opts.format;
  if (format === undefined) {
    try {
      format = detectFormat(records, opts.columns);
    } catch (e) {
      if (e instanceof QloraError && e.code === 'DATASET_INVALID') throw datasetError(`${fileName}: ${e.message}`, { problem: 'columns', lineErrors: parsed.errors, errors: [], columns });
      throw e;
    }
  }
  return { parsed, records, format, columns };
}

/** The error for a dataset none of whose records can be used: a column mapping, or a file to fix. */
function noneUsable(fileName: string, read: ReadRecords, errors: RecordError[]): QloraError {
  // Wrong names look like missing fields in most records; anything else (every output empty, every
  // prompt past maxLength) is the file's content or a setting the reasons name.
  const columns = 2 * errors.filter((e) => e.reason.startsWith('missing field')).length >= errors.length;
  const advice = columns
    ? `The records have the fields ${read.columns.map((c) => JSON.stringify(c)).join(', ') || '(none)'}: say which one is which with a column mapping (e.g. instruction=question,output=answer).`
    : 'Skipping them leaves nothing to train on: fix the file, or the setting the reasons name.';
  return datasetError(`${fileName}: none of the ${read.records.length} records can be used as ${read.format} examples — ${listRows(read.parsed.errors, errors)}. ${advice}`,
    { problem: columns ? 'columns' : 'unreadable', lineErrors: read.parsed.errors, errors, columns: read.columns });
}

/** Every problem of the file at once, without a tokenizer: the page runs it as soon as a file is chosen. */
export function checkDataset(text: string, fileName: string, opts: Pick<PrepareDatasetOptions, 'format' | 'columns' | 'limit'> = {}): DatasetCheck {
  const parsed = parseDatasetText(text, fileName);
  let read: ReadRecords;
  try {
    read = readRecords(parsed, fileName, opts);
  } catch (e) {
    if (!(e instanceof QloraError && e.code === 'DATASET_INVALID')) throw e;
    const d = e.details as DatasetProblemDetails;
    return { fileName, syntax: parsed.syntax, records: parsed.records.length, format: null, usable: 0, columns: d.columns, problem: d.problem, message: e.message, lineErrors: d.lineErrors, recordErrors: [] };
  }
  const { valid, errors } = validateRecords(read.records, read.format, opts.columns);
  const recordErrors = errors.map((e) => ({ ...e, ...(read.parsed.lines[e.index] !== undefined ? { line: read.parsed.lines[e.index] } : {}) }));
  const base = { fileName, syntax: read.parsed.syntax, records: read.records.length, format: read.format, usable: valid.length, columns: read.columns, lineErrors: read.parsed.errors, recordErrors };
  if (valid.length === 0) {
    const e = noneUsable(fileName, read, recordErrors);
    return { ...base, problem: (e.details as DatasetProblemDetails).problem, message: e.message };
  }
  if (read.parsed.errors.length + recordErrors.length === 0) return { ...base, problem: null, message: null };
  return { ...base, problem: 'rows', message: rowsMessage(fileName, read, recordErrors) };
}

/**
 * The error a checked file's problem is for a run that reads it with `onInvalid` (null when it would
 * train): what the CLI and the page's Start throw before any model is loaded.
 */
export function checkProblemError(c: DatasetCheck, onInvalid: 'stop' | 'skip' = 'stop'): QloraError | null {
  if (c.problem === null || (c.problem === 'rows' && onInvalid === 'skip')) return null;
  return datasetError(c.message ?? `${c.fileName} cannot be used.`, { problem: c.problem, lineErrors: c.lineErrors, errors: c.recordErrors, columns: c.columns });
}

function rowsMessage(fileName: string, read: ReadRecords, errors: RecordError[]): string {
  const bad = read.parsed.errors.length + errors.length;
  return `${fileName}: ${bad} row(s) cannot be used as ${read.format} examples — ${listRows(read.parsed.errors, errors)}. Fix them in the file, or skip them and train on the other ${read.records.length - errors.length} record(s).`;
}

export function prepareDataset(text: string, fileName: string, tokenizer: TextTokenizer, opts: PrepareDatasetOptions = {}): PreparedDataset {
  opts.onProgress?.({ phase: 'parsing', done: 0, total: text.length });
  const read = readRecords(parseDatasetText(text, fileName), fileName, opts);
  const { parsed, records, format } = read;
  const stop = (opts.onInvalid ?? 'stop') === 'stop';
  // Every record is built even when stopping, so that one error lists every problem of the file.
  const { examples, errors } = buildExamples(records, format, tokenizer, {
    maxLength: opts.maxLength, onInvalid: 'skip', recordLines: parsed.lines, ...(opts.columns ? { columns: opts.columns } : {}),
    ...(opts.onProgress ? { onProgress: (done: number, total: number) => opts.onProgress!({ phase: 'tokenizing', done, total }) } : {}),
  });
  if (examples.length === 0) throw noneUsable(fileName, read, errors);
  if (stop && parsed.errors.length + errors.length > 0) {
    throw datasetError(rowsMessage(fileName, read, errors), { problem: 'rows', lineErrors: parsed.errors, errors, columns: read.columns });
  }
  return { format, records, examples, lineErrors: parsed.errors, recordErrors: errors, syntax: parsed.syntax };
}
