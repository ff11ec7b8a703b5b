// Writes safetensors byte-for-byte as the reference writer (huggingface/safetensors `serialize`, used by
// `save_file` and PEFT's `save_pretrained`) does, so an adapter saved here is indistinguishable from one
// saved in Python: `__metadata__` first, tensors by descending dtype alignment then by name, data in that
// order, header padded with spaces so the data section starts on an 8-byte boundary.

import { QloraError } from '../errors';
import { DTYPE_BYTES, DTYPE_RANK, isDtype, type Dtype } from './dtype';

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Little-endian element bytes, row-major; any typed array or DataView over them. */
  data: ArrayBufferView;
}

function invalid(message: string): QloraError {
  return new QloraError('INTERNAL', `writeSafetensors: ${message}`);
}

/** Rust compares `String`s by UTF-8 bytes, i.e. by code point; JS `<` compares UTF-16 units. */
function compareCodePoints(a: string, b: string): number {
  const left = Array.from(a, (c) => c.codePointAt(0) as number);
  const right = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return (left[i] as number) - (right[i] as number);
  }
  return left.length - right.length;
}

/** JSON object text with keys in the given order (a JS object would move integer-like keys first). */
function jsonObject(entries: [string, string][]): string {
  return `{${entries.map(([key, valueJson]) => `${JSON.stringify(key)}:${valueJson}`).join(',')}}`;
}

function checkTensor(tensor: TensorToWrite, seen: Set<string>): void {
  const { name, dtype, shape, data } = tensor;
  if (typeof name !== 'string' || name === '' || name === '__metadata__') {
    throw invalid(`invalid tensor name ${JSON.stringify(name)}`);
  }
  if (seen.has(name)) throw invalid(`tensor "${name}" given twice`);
  seen.add(name);
  if (!isDtype(dtype)) throw invalid(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(`tensor "${name}": shape must be non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const expectedBytes = shape.reduce((n, d) => n * d, DTYPE_BYTES[dtype]);
  if (!ArrayBuffer.isView(data) || data.byteLength !== expectedBytes) {
    throw invalid(
      `tensor "${name}": shape ${JSON.stringify(shape)} of ${dtype} needs ${expectedBytes} bytes, got ${
        ArrayBuffer.isView(data) ? data.byteLength : typeof data
      }`,
    );
  }
}

/** `metadata: null` leaves `__metadata__` out, as `save_file(tensors)` without metadata does. */
export function writeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> | null = { format: 'pt' },
): Uint8Array {
  const seen = new Set<string>();
  for (const tensor of tensors) checkTensor(tensor, seen);
  const ordered = [...tensors].sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareCodePoints(a.name, b.name));

  const entries: [string, string][] = [];
  if (metadata) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw invalid(`metadata "${key}" must be a string, got ${typeof value}`);
    }
    entries.push(['__metadata__', jsonObject(Object.entries(metadata).map(([k, v]) => [k, JSON.stringify(v)]))]);
  }
  let offset = 0;
  for (const { name, dtype, shape, data } of ordered) {
    const info = { dtype, shape, data_offsets: [offset, offset + data.byteLength] };
    entries.push([name, JSON.stringify(info)]);
    offset += data.byteLength;
  }

  const headerText = new TextEncoder().encode(jsonObject(entries));
  const headerLength = Math.ceil(headerText.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(headerText, 8);
  out.fill(0x20, 8 + headerText.length, 8 + headerLength);
  let cursor = 8 + headerLength;
  for (const { data } of ordered) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), cursor);
    cursor += data.byteLength;
  }
  return out;
}
