// An RFC 4180 CSV reader that keeps the line each row starts on, so dataset errors can point at
// the line a person sees in their editor. Quoted fields may hold delimiters, newlines and doubled
// quotes (""); LF, CRLF and lone CR all end a row; blank lines are skipped.

export interface CsvRow {
  /** 1-based line on which the row starts. */
  line: number;
  fields: string[];
}

export interface CsvError {
  line: number;
  reason: string;
}

export function parseCsv(text: string, delimiter = ','): { rows: CsvRow[]; errors: CsvError[] } {
  const rows: CsvRow[] = [];
  const errors: CsvError[] = [];
  const n = text.length;
  let pos = 0;
  let line = 1;
  const atRowEnd = (): boolean => pos >= n || text[pos] === '\n' || text[pos] === '\r';

  while (pos < n) {
    const rowLine = line;
    const fields: string[] = [];
    let rowError: string | null = null;
    let sawQuote = false;

    for (;;) {
      let value = '';
      if (text[pos] === '"') {
        sawQuote = true;
        const quoteLine = line;
        pos++;
        let closed = false;
        while (pos < n) {
          const c = text[pos];
          if (c === '"') {
            if (text[pos + 1] === '"') {
              value += '"';
              pos += 2;
              continue;
            }
            pos++;
            closed = true;
            break;
          }
          if (c === '\n' || (c === '\r' && text[pos + 1] !== '\n')) line++;
          value += c;
          pos++;
        }
        if (!closed) rowError ??= `the quoted field opened on line ${quoteLine} is never closed`;
        else if (!atRowEnd() && text[pos] !== delimiter) {
          rowError ??= 'unexpected text after a closing quote (a quote inside a quoted field must be doubled: "")';
          while (!atRowEnd() && text[pos] !== delimiter) pos++;
        }
      } else {
        const start = pos;
        while (!atRowEnd() && text[pos] !== delimiter) pos++;
        value = text.slice(start, pos);
      }
      fields.push(value);
      if (pos < n && text[pos] === delimiter) {
        pos++;
        continue;
      }
      break;
    }

    if (text[pos] === '\r') pos++;
    if (text[pos] === '\n') pos++;
    line++;

    const blank = fields.length === 1 && fields[0] === '' && !sawQuote;
    if (rowError !== null) errors.push({ line: rowLine, reason: rowError });
    else if (!blank) rows.push({ line: rowLine, fields });
  }
  return { rows, errors };
}
