// Reading a dataset file's text into records: a JSON list, JSON Lines (one record per line),
// CSV/TSV with a header row whose column names become the record's fields, or plain text (.txt: one
// {text} record per block of lines separated by a blank line, or the whole file when it has none).
// Syntax problems are reported by 1-based line number and the good lines are kept, so one bad line
// does not hide the rest; whether the records make sense is records.ts's job. Each record keeps the
// line it starts on, so a problem found later is reported at the line a person sees in an editor.

import { parseCsv } from './csv';

export interface DatasetTextError {
  /** 1-based line in the file. */
  line: number;
  reason: string;
}

export interface ParsedDatasetText {
  records: unknown[];
  /** 1-based line of the file on which each record starts (same length as records). */
  lines: number[];
  errors: DatasetTextError[];
  /** How the text was read (from the file name's extension, else from the content). */
  syntax: 'json' | 'jsonl' | 'csv' | 'tsv' | 'text';
}

/** How a .txt file is cut into documents, in words for the page and the CLI. */
export function describePlainText(records: number): string {
  return records === 1
    ? 'plain text: the whole file is one document (separate documents with a blank line)'
    : `plain text: ${records} documents, one per block of lines separated by a blank line`;
}

export function isPlainTextName(fileName: string | undefined): boolean {
  return /\.(txt|text|md)$/i.test(fileName ?? '');
}

export function parseDatasetText(text: string, fileName?: string): ParsedDatasetText {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 BOM from Excel / Notepad
  const extension = fileName?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  const start = body.trimStart()[0];

  if (extension === 'csv' || extension === 'tsv') return parseTable(body, extension);
  if (isPlainTextName(fileName)) return parsePlainText(body);
  if (body.trim() === '') return { records: [], lines: [], errors: [{ line: 1, reason: 'the file is empty' }], syntax: extension === 'jsonl' ? 'jsonl' : 'json' };
  if (extension === 'jsonl' || extension === 'ndjson') return parseJsonLines(body);
  if (extension === 'json' || start === '[' || start === '{') return parseJson(body);
  return parseTable(body, 'csv');
}

/** A whole-file JSON list (or a single object); if that fails and it does not start with '[', JSON Lines. */
function parseJson(text: string): ParsedDatasetText {
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value)) return { records: value, lines: arrayElementLines(text, value.length), errors: [], syntax: 'json' };
    if (typeof value === 'object' && value !== null) return { records: [value], lines: [firstLine(text)], errors: [], syntax: 'json' };
    return { records: [], lines: [], errors: [{ line: 1, reason: 'expected a list of records ([...]) or one JSON object per line' }], syntax: 'json' };
  } catch (e) {
    if (text.trimStart()[0] !== '[') return parseJsonLines(text);
    const message = errorText(e);
    return { records: [], lines: [], errors: [{ line: lineOfJsonError(text, message), reason: `not valid JSON: ${message}` }], syntax: 'json' };
  }
}

/** The line of the first non-blank character. */
function firstLine(text: string): number {
  const start = text.length - text.trimStart().length;
  return text.slice(0, start).split(/\r\n|\n|\r/).length;
}

/**
 * The line each element of a top-level JSON array starts on: one pass over text already known to be
 * valid JSON, tracking depth and strings (JSON.parse itself gives no positions).
 */
function arrayElementLines(text: string, count: number): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectValue = false;
  for (let i = 0; i < text.length && lines.length < count; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      else if (c === '\n') line++;
      continue;
    }
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
    else if (c === ' ' || c === '\t' || c === '\r') continue;
    else if (depth === 1 && c === ',') expectValue = true;
    else {
      if (depth === 1 && expectValue) {
        lines.push(line);
        expectValue = false;
      }
      if (c === '"') inString = true;
      else if (c === '[' || c === '{') {
        depth++;
        if (depth === 1) expectValue = true;
      } else if (c === ']' || c === '}') depth--;
    }
  }
  while (lines.length < count) lines.push(line);
  return lines;
}

/** Blocks separated by blank lines are documents; a file without blank lines is one document. */
function parsePlainText(text: string): ParsedDatasetText {
  const records: unknown[] = [];
  const lines: number[] = [];
  let block: string[] = [];
  let blockLine = 0;
  const flush = () => {
    if (block.length) {
      records.push({ text: block.join('\n') });
      lines.push(blockLine);
    }
    block = [];
  };
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    if (raw.trim() === '') return flush();
    if (block.length === 0) blockLine = i + 1;
    block.push(raw);
  });
  flush();
  const errors = records.length ? [] : [{ line: 1, reason: 'the file is empty' }];
  return { records, lines, errors, syntax: 'text' };
}

function parseJsonLines(text: string): ParsedDatasetText {
  const records: unknown[] = [];
  const lines: number[] = [];
  const errors: DatasetTextError[] = [];
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      records.push(JSON.parse(raw));
      lines.push(i + 1);
    } catch (e) {
      errors.push({ line: i + 1, reason: `not valid JSON: ${errorText(e)}` });
    }
  });
  return { records, lines, errors, syntax: 'jsonl' };
}

function parseTable(text: string, syntax: 'csv' | 'tsv'): ParsedDatasetText {
  const { rows, errors } = parseCsv(text, syntax === 'tsv' ? '\t' : ',');
  const header = rows[0];
  if (header === undefined || (errors.length > 0 && errors[0].line < header.line)) {
    if (errors.length === 0) errors.push({ line: 1, reason: 'the file is empty' });
    return { records: [], lines: [], errors, syntax };
  }
  const columns = header.fields.map((c) => c.trim());
  const headerProblem = checkHeader(columns);
  if (headerProblem !== null) return { records: [], lines: [], errors: [{ line: header.line, reason: headerProblem }], syntax };

  const records: unknown[] = [];
  const lines: number[] = [];
  for (const row of rows.slice(1)) {
    if (row.fields.length !== columns.length) {
      errors.push({ line: row.line, reason: `expected ${columns.length} fields (${columns.join(', ')}), found ${row.fields.length}` });
      continue;
    }
    records.push(Object.fromEntries(columns.map((c, i) => [c, row.fields[i]])));
    lines.push(row.line);
  }
  errors.sort((a, b) => a.line - b.line);
  return { records, lines, errors, syntax };
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
