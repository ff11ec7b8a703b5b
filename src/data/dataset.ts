// From a dataset file's text to training examples, for the CLI and the app alike: parse (JSON, JSONL,
// CSV, plain text), detect or check the format, keep the first `limit` records, build examples, and report every
// problem by the file's line (syntax and content alike). With onInvalid 'stop' any problem is an error
// listing them; with 'skip' the good records are kept and the problems returned.
import { QloraError } from '../errors';
import type { TextTokenizer } from './tokenizer';
import type { DatasetFormat, RecordError } from './records';
import { detectFormat, parseDatasetText } from './records';
import type { DatasetTextError, ParsedDatasetText } from './dataset-text';
import type { IndexedExample } from './examples';
import { buildExamples } from './examples';

export interface PrepareDatasetOptions {
  format?: DatasetFormat;
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

export function prepareDataset(text: string, fileName: string, tokenizer: TextTokenizer, opts: PrepareDatasetOptions = {}): PreparedDataset {
  opts.onProgress?.({ phase: 'parsing', done: 0, total: text.length });
  const parsed = parseDatasetText(text, fileName);
  const stop = (opts.onInvalid ?? 'stop') === 'stop';
  if (parsed.errors.length && (stop || parsed.records.length === 0)) {
    const shown = parsed.errors.slice(0, 5).map((e) => `line ${e.line}: ${e.reason}`).join('; ');
    throw new QloraError('DATASET_INVALID', `${fileName}: ${parsed.errors.length} line(s) could not be read (${shown}). Fix them, or skip them.`, { lineErrors: parsed.errors });
  }
  let records = parsed.records;
  if (opts.limit !== undefined) {
    // slice(0, -1) would silently drop the last record.
    if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new QloraError('ARGUMENT_INVALID', `limit must be a whole number of records ≥ 1, got ${opts.limit}. Leave it out to use every record.`);
    records = records.slice(0, opts.limit);
  }
  if (records.length === 0) throw new QloraError('DATASET_INVALID', `${fileName} holds no records.`);
  const format = opts.format ?? detectFormat(records);
  const { examples, errors } = buildExamples(records, format, tokenizer, {
    maxLength: opts.maxLength, onInvalid: stop ? 'throw' : 'skip', recordLines: parsed.lines,
    ...(opts.onProgress ? { onProgress: (done: number, total: number) => opts.onProgress!({ phase: 'tokenizing', done, total }) } : {}),
  });
  if (examples.length === 0) throw new QloraError('DATASET_INVALID', `${fileName}: none of the ${records.length} records can be used as ${format} examples.`, { errors });
  return { format, records, examples, lineErrors: parsed.errors, recordErrors: errors, syntax: parsed.syntax };
}
