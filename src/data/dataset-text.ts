// Reading a dataset file's text into records: a JSON list, JSON Lines (one record per line) or
// CSV/TSV with a header row whose column names become the record's fields. Syntax problems are
// reported by 1-based line number and the good lines are kept, so one bad line does not hide the
// rest; whether the records make sense is records.ts's job.

import { parseCsv } from './csv';

export interface DatasetTextError {
  /** 1-based line in the file. */
  line: number;
  reason: string;
}

export interface ParsedDatasetText {
  records: unknown[];
  errors: DatasetTextError[];
  /** How the text was read (from the file name's extension, else from the content). */
  syntax: 'json' | 'jsonl' | 'csv' | 'tsv';
}

export function parseDatasetText(text: string, fileName?: string): ParsedDatasetText {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 BOM from Excel / Notepad
  const extension = fileName?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  const start = body.trimStart()[0];

  if (extension === 'csv' || extension === 'tsv') return parseTable(body, extension);
  if (body.trim() === '') return { records: [], errors: [{ line: 1, reason: 'the file is empty' }], syntax: extension === 'jsonl' ? 'jsonl' : 'json' };
  if (extension === 'jsonl' || extension === 'ndjson') return parseJsonLines(body);
  if (extension === 'json' || start === '[' || start === '{') return parseJson(body);
  return parseTable(body, 'csv');
}

/** A whole-file JSON list (or a single object); if that fails and it does not start with '[', JSON Lines. */
function parseJson(text: string): ParsedDatasetText {
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value)) return { records: value, errors: [], syntax: 'json' };
    if (typeof value === 'object' && value !== null) return { records: [value], errors: [], syntax: 'json' };
    return { records: [], errors: [{ line: 1, reason: 'expected a list of records ([...]) or one JSON object per line' }], syntax: 'json' };
  } catch (e) {
    if (text.trimStart()[0] !== '[') return parseJsonLines(text);
    const message = errorText(e);
    return { records: [], errors: [{ line: lineOfJsonError(text, message), reason: `not valid JSON: ${message}` }], syntax: 'json' };
  }
}

function parseJsonLines(text: string): ParsedDatasetText {
  const records: unknown[] = [];
  const errors: DatasetTextError[] = [];
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      records.push(JSON.parse(raw));
    } catch (e) {
      errors.push({ line: i + 1, reason: `not valid JSON: ${errorText(e)}` });
    }
  });
  return { records, errors, syntax: 'jsonl' };
}

function parseTable(text: string, syntax: 'csv' | 'tsv'): ParsedDatasetText {
  const { rows, errors } = parseCsv(text, syntax === 'tsv' ? '\t' : ',');
  const header = rows[0];
  if (header === undefined || (errors.length > 0 && errors[0].line < header.line)) {
    if (errors.length === 0) errors.push({ line: 1, reason: 'the file is empty' });
    return { records: [], errors, syntax };
  }
  const columns = header.fields.map((c) => c.trim());
  const headerProblem = checkHeader(columns);
  if (headerProblem !== null) return { records: [], errors: [{ line: header.line, reason: headerProblem }], syntax };

  const records: unknown[] = [];
  for (const row of rows.slice(1)) {
    if (row.fields.length !== columns.length) {
      errors.push({ line: row.line, reason: `expected ${columns.length} fields (${columns.join(', ')}), found ${row.fields.length}` });
      continue;
    }
    records.push(Object.fromEntries(columns.map((c, i) => [c, row.fields[i]])));
  }
  errors.sort((a, b) => a.line - b.line);
  return { records, errors, syntax };
}

function checkHeader(columns: string[]): string | null {
  if (columns.some((c) => c === '')) return `the header row has an empty column name (columns: ${columns.join(', ')})`;
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) return `the header row names column "${c}" twice`;
    seen.add(c);
  }
  return null;
}

/** JSON.parse messages give "line L column C" (newer V8) or "position P"; a truncated file fails at its end. */
function lineOfJsonError(text: string, message: string): number {
  if (/end of (JSON|data)/i.test(message)) return text.trimEnd().split(/\r\n|\n|\r/).length;
  const line = message.match(/line (\d+)/);
  if (line) return Number(line[1]);
  const position = message.match(/position (\d+)/);
  if (!position) return 1;
  const upTo = text.slice(0, Number(position[1]));
  return upTo.split(/\r\n|\n|\r/).length;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
