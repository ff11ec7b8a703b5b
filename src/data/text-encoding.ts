// A dataset file's bytes as text, for the page and the CLI alike (json, jsonl, csv, tsv, txt). Decoding
// everything as UTF-8 turned a UTF-16 .txt into one NUL-interleaved document that trained to "done" and a
// UTF-16 .jsonl into "Unexpected token '�'". So: the byte-order mark picks UTF-8 or UTF-16 (LE / BE);
// without one the bytes must be valid UTF-8, and anything else is refused naming the encoding it looks
// like (UTF-16 without a BOM by its NUL pattern, UTF-32, Latin-1 / Windows-1252) and the fix.
import { QloraError } from '../errors';

export type TextEncodingName = 'UTF-8' | 'UTF-16 LE' | 'UTF-16 BE';

const SAVE_AS_UTF8 = 'Save it as UTF-8 (in most editors: "Save as…", encoding "UTF-8") and load it again.';

function refuse(fileName: string, found: string): never {
  throw new QloraError('DATASET_INVALID', `${fileName} is not UTF-8 text: ${found}. ${SAVE_AS_UTF8}`, { encoding: found, problem: 'unreadable' }); // skipping rows cannot help: the file is to save again
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/** UTF-16 without a BOM: ASCII text in it has a NUL in every other byte (odd places: LE, even: BE). */
function utf16WithoutBom(bytes: Uint8Array): 'UTF-16 LE' | 'UTF-16 BE' | null {
  const n = Math.min(bytes.length, 4096) & ~1;
  if (n < 4) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenNul++;
    if (bytes[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul > pairs * 0.3 && evenNul < pairs * 0.05) return 'UTF-16 LE';
  if (evenNul > pairs * 0.3 && oddNul < pairs * 0.05) return 'UTF-16 BE';
  return null;
}

/** 1-based line of byte `offset` (lines end at \n in every encoding this refuses). */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** The first byte where UTF-8 decoding fails (a fatal decoder says only that it failed). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    for (let k = 1; k < len; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    // Overlongs, surrogates and code points past U+10FFFF (the second byte's range depends on the first).
    const second = bytes[i + 1];
    if ((b === 0xe0 && second < 0xa0) || (b === 0xed && second > 0x9f) || (b === 0xf0 && second < 0x90) || (b === 0xf4 && second > 0x8f)) return i;
    i += len;
  }
  return bytes.length;
}

function decodeUtf16(bytes: Uint8Array, bigEndian: boolean, fileName: string, name: TextEncodingName): string {
  if (bytes.length % 2 !== 0) refuse(fileName, `it starts with the ${name} byte-order mark but has an odd number of bytes (${bytes.length}), so it is cut short or not ${name}`);
  let body = bytes;
  if (bigEndian) {
    body = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i += 2) {
      body[i] = bytes[i + 1];
      body[i + 1] = bytes[i];
    }
  }
  try {
    return new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    return refuse(fileName, `it starts with the ${name} byte-order mark but holds an unpaired surrogate, so it is damaged`);
  }
}

/** Refuses text with a NUL character: no dataset has one, binary data and wrong encodings do. */
function refuseNul(text: string, fileName: string, encoding: TextEncodingName): string {
  const at = text.indexOf('\0');
  if (at < 0) return text;
  const line = text.slice(0, at).split('\n').length;
  throw new QloraError(
    'DATASET_INVALID',
    `${fileName} holds a NUL character at line ${line} (read as ${encoding}): it is binary data, or text in another encoding. Remove it, or save the file as UTF-8 text.`,
    { lineErrors: [{ line, reason: 'a NUL character (binary data or another encoding)' }], problem: 'unreadable' },
  );
}

/** The text of a dataset file and how it was encoded; the byte-order mark is not part of the text. */
export function decodeDatasetBytes(bytes: Uint8Array, fileName: string): { text: string; encoding: TextEncodingName } {
  if (startsWith(bytes, [0xff, 0xfe, 0, 0]) || startsWith(bytes, [0, 0, 0xfe, 0xff])) {
    refuse(fileName, `it starts with a UTF-32 byte-order mark`);
  }
  if (startsWith(bytes, [0xff, 0xfe])) return { text: refuseNul(decodeUtf16(bytes.subarray(2), false, fileName, 'UTF-16 LE'), fileName, 'UTF-16 LE'), encoding: 'UTF-16 LE' };
  if (startsWith(bytes, [0xfe, 0xff])) return { text: refuseNul(decodeUtf16(bytes.subarray(2), true, fileName, 'UTF-16 BE'), fileName, 'UTF-16 BE'), encoding: 'UTF-16 BE' };
  const body = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? bytes.subarray(3) : bytes;
  const utf16 = utf16WithoutBom(body);
  if (utf16) refuse(fileName, `it looks like ${utf16} without a byte-order mark (a NUL in every other byte)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    const at = firstInvalidUtf8(body);
    const byte = body[at] ?? 0;
    const guess = byte >= 0x80 ? ' — probably Latin-1 (ISO-8859-1) or Windows-1252, where one byte is one accented letter' : '';
    return refuse(fileName, `byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} at line ${lineAt(body, at)} (offset ${at}) is not valid UTF-8${guess}`);
  }
  return { text: refuseNul(text, fileName, 'UTF-8'), encoding: 'UTF-8' };
}

/** The text only (decodeDatasetBytes without the encoding). */
export function datasetText(bytes: Uint8Array, fileName: string): string {
  return decodeDatasetBytes(bytes, fileName).text;
}
