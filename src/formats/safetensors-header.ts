// Reads and validates a safetensors header from the first 8+N bytes of a file, so the browser can lay
// out a 2 GB checkpoint without loading it. Checks what the reference (huggingface/safetensors,
// `SafeTensors::read_metadata` + `Metadata::validate`) checks, and says in each message which file,
// which tensor, what was expected and what was found: a half-downloaded file must not reach a kernel.

import { QloraError } from '../errors';
import { DTYPE_BYTES, DTYPES, isDtype, type Dtype } from './dtype';

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Byte offsets relative to the data section (the file's `data_offsets`), end exclusive. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  fileName: string;
  headerLength: number;
  /** Where the data section starts in the file: 8 + headerLength. */
  dataStart: number;
  /** In data order (sorted by `begin`). */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/** The reference refuses larger headers (`MAX_HEADER_SIZE`): a garbage length must not allocate 4 GB. */
export const MAX_HEADER_BYTES = 100_000_000;

function corrupt(fileName: string, message: string): QloraError {
  return new QloraError(
    'WEIGHTS_CORRUPT',
    `${fileName}: ${message}. The file is not a valid safetensors file; download it again.`,
    { fileName },
  );
}

/**
 * N, the header's byte length, from the first 8 bytes. Read 8+N bytes before calling
 * `parseSafetensorsHeader`. Checks N against the reference's bound and, when given, the file size.
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileName = 'safetensors file', fileSize?: number): number {
  if (fileSize !== undefined && fileSize < 8) {
    throw corrupt(fileName, `the file is ${fileSize} bytes long, but a safetensors file starts with an 8-byte header length`);
  }
  if (first8.length < 8) {
    throw new QloraError('INTERNAL', `${fileName}: need the first 8 bytes to read the header length, got ${first8.length}`);
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const length = high * 2 ** 32 + low; // exact below 2^53; anything that large is refused just below
  if (length > MAX_HEADER_BYTES) {
    throw corrupt(fileName, `header length is ${length} bytes, more than the ${MAX_HEADER_BYTES} a safetensors header may have`);
  }
  if (fileSize !== undefined && 8 + length > fileSize) {
    throw corrupt(fileName, `header length is ${length} bytes but the file is only ${fileSize} bytes long (truncated?)`);
  }
  return length;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseMetadata(value: unknown, fileName: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw corrupt(fileName, `"__metadata__" must be an object of strings, found ${describe(value)}`);
  const metadata: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw corrupt(fileName, `"__metadata__"."${key}" must be a string, found ${describe(entry)}`);
    }
    metadata[key] = entry;
  }
  return metadata;
}

function parseTensorInfo(name: string, value: unknown, fileName: string): TensorInfo {
  const fail = (message: string) => corrupt(fileName, `tensor "${name}": ${message}`);
  if (!isRecord(value)) throw fail(`expected {dtype, shape, data_offsets}, found ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDtype(dtype)) throw fail(`unknown dtype ${describe(dtype)}; supported: ${DTYPES.join(', ')}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw fail(`shape must be a list of non-negative integers, found ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw fail(`data_offsets must be [begin, end] with non-negative integers, found ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw fail(`data_offsets [${begin}, ${end}] end before they begin`);
  let expectedBytes = DTYPE_BYTES[dtype];
  for (const d of shape as number[]) expectedBytes *= d;
  if (!Number.isSafeInteger(expectedBytes)) throw fail(`shape ${describe(shape)} is too large to address`);
  if (end - begin !== expectedBytes) {
    throw fail(
      `shape ${describe(shape)} of ${dtype} needs ${expectedBytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

/** Tensors sorted by offset must tile the data section exactly: no gap, no overlap, nothing after. */
function checkTiling(sorted: TensorInfo[], dataBytes: number, fileName: string): void {
  let expectedBegin = 0;
  let previous: TensorInfo | null = null;
  for (const info of sorted) {
    if (info.begin > expectedBegin) {
      const after = previous ? `after tensor "${previous.name}"` : 'at the start of the data section';
      throw corrupt(
        fileName,
        `tensor "${info.name}" begins at data offset ${info.begin} but the previous data ends at ${expectedBegin}: ` +
          `a gap of ${info.begin - expectedBegin} unaccounted bytes ${after}`,
      );
    }
    if (info.begin < expectedBegin) {
      throw corrupt(
        fileName,
        `tensor "${info.name}" (data_offsets [${info.begin}, ${info.end}]) overlaps tensor "${previous?.name}" ` +
          `which ends at ${expectedBegin}`,
      );
    }
    if (info.end > dataBytes) {
      throw corrupt(
        fileName,
        `tensor "${info.name}" ends at data offset ${info.end} but the file holds only ${dataBytes} bytes of data ` +
          `after the header: the file is truncated (incomplete download?)`,
      );
    }
    expectedBegin = info.end;
    previous = info;
  }
  if (expectedBegin !== dataBytes) {
    throw corrupt(
      fileName,
      `the tensors cover ${expectedBegin} bytes of data but the file has ${dataBytes} bytes after the header: ` +
        `${dataBytes - expectedBegin} trailing bytes belong to no tensor`,
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses the header. `prefix` holds at least the first 8+N bytes of the file (see
 * `safetensorsHeaderLength`); `fileSize` is the whole file's size, so truncation is caught now.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileName: string, fileSize: number): SafetensorsHeader {
  const headerLength = safetensorsHeaderLength(prefix, fileName, fileSize);
  const dataStart = 8 + headerLength;
  if (prefix.length < dataStart) {
    throw new QloraError(
      'INTERNAL',
      `${fileName}: parseSafetensorsHeader needs the first ${dataStart} bytes (8 + header length), got ${prefix.length}`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(prefix.subarray(8, dataStart));
  } catch {
    throw corrupt(fileName, `the ${headerLength}-byte header is not valid UTF-8`);
  }
  // The reference refuses a header that does not open with '{' (`InvalidHeaderStart`), even whitespace.
  if (!text.startsWith('{')) {
    throw corrupt(fileName, `the header must be a JSON object starting with "{", found ${describe(text.slice(0, 20))}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw corrupt(fileName, `the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(json)) throw corrupt(fileName, `the header must be a JSON object, found ${describe(json)}`);

  const metadata = parseMetadata(json['__metadata__'], fileName);
  const infos: TensorInfo[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name !== '__metadata__') infos.push(parseTensorInfo(name, value, fileName));
  }
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkTiling(infos, fileSize - dataStart, fileName);
  return { fileName, headerLength, dataStart, tensors: new Map(infos.map((info) => [info.name, info])), metadata };
}
