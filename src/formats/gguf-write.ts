// Writing a GGUF file (ggml's container, version 3; the layout ggml/docs/gguf.md specifies and
// gguf-py's GGUFWriter produces), little-endian:
//   magic "GGUF", u32 version = 3, u64 tensor_count, u64 kv_count;
//   kv_count × (string key, u32 value type, value);
//   tensor_count × (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset);
//   zero padding to `alignment`, then each tensor's bytes at its offset (relative to this point),
//   each padded to `alignment`.
// A string is a u64 byte length and UTF-8 without a terminator. `ne` is ggml's order, fastest-varying
// first, so a row-major (numpy) shape [rows, cols] is written ne = [cols, rows].
// @huggingface/gguf reads these files (the tests use it) and its serializeGgufMetadata writes a
// header, but it pads right after the key-values, where tensor infos must follow: so the whole file
// is written here, and read back with both that library and gguf-py in test/export-gguf.test.ts.
import { QloraError } from '../errors';

/** Value kinds used by LoRA adapters; codes are GGUF's gguf_type. */
export type GgufValue =
  | { readonly type: 'uint32'; readonly value: number }
  | { readonly type: 'float32'; readonly value: number }
  | { readonly type: 'string'; readonly value: string };

const VALUE_TYPE_CODE = { uint32: 4, float32: 6, string: 8 } as const;

/** ggml_type codes of the tensor dtypes written here. */
export const GGML_TYPE = { F32: 0 } as const;

export interface GgufTensor {
  readonly name: string;
  /** Row-major (numpy / PyTorch) shape; written reversed as ggml's ne. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32; // general.alignment when the key is absent (ggml.h GGUF_DEFAULT_ALIGNMENT)

const encoder = new TextEncoder();
const pad = (n: number, a: number) => Math.ceil(n / a) * a;

class ByteSink {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  string(s: string): void {
    const bytes = encoder.encode(s);
    this.u64(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** The whole file: metadata in the given order, then the tensors in the given order. */
export function writeGguf(metadata: readonly (readonly [string, GgufValue])[], tensors: readonly GgufTensor[], alignment = GGUF_DEFAULT_ALIGNMENT): Uint8Array {
  const keys = new Set<string>();
  for (const [key] of metadata) {
    if (keys.has(key)) throw new QloraError('INTERNAL', `GGUF metadata key "${key}" is given twice.`);
    keys.add(key);
  }
  const head = new ByteSink();
  head.u32(0x46554747); // "GGUF" read as a little-endian u32
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, v] of metadata) {
    head.string(key);
    head.u32(VALUE_TYPE_CODE[v.type]);
    if (v.type === 'string') head.string(v.value);
    else if (v.type === 'uint32') head.u32(v.value);
    else head.f32(v.value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new QloraError('INTERNAL', `GGUF tensor "${t.name}": shape [${t.shape}] holds ${count} values, data has ${t.data.length}.`);
    }
    head.string(t.name);
    head.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) head.u64(t.shape[d]);
    head.u32(GGML_TYPE.F32);
    head.u64(offset);
    offsets.push(offset);
    offset = pad(offset + t.data.byteLength, alignment);
  }
  const dataStart = pad(head.length, alignment);
  const out = new Uint8Array(dataStart + offset);
  out.set(head.bytes(), 0);
  tensors.forEach((t, i) => {
    // Float32Array is host-endian; every WebGPU host (and Node's) is little-endian, as the file is.
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), dataStart + offsets[i]);
  });
  return out;
}
