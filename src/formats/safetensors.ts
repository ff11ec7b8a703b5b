// The safetensors format: the entry point other modules import. Re-exports the header reader, writer
// and shard index, and adds `SafetensorsFile` for a file held whole in memory (adapters, goldens, small
// models). Pure: bytes in, typed arrays out; fetching and file handles live in src/io.

import { QloraError } from '../errors';
import type { Dtype } from './dtype';
import { bf16ArrayToF32, f16ArrayToF32 } from './half';
import { parseSafetensorsHeader, type SafetensorsHeader, type TensorInfo } from './safetensors-header';

export { DTYPE_BYTES, DTYPES, isDtype, type Dtype } from './dtype';
export {
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  type SafetensorsHeader,
  type TensorInfo,
} from './safetensors-header';
export { writeSafetensors, type TensorToWrite } from './safetensors-write';
export { parseShardIndex, type ShardIndex } from './shard-index';

type TypedArrayOf<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/**
 * A copy of `bytes` in a buffer of its own. Uint8Array's slice, called as such: a Node Buffer's own
 * `slice` returns a view of the whole file's buffer, not a copy.
 */
function copyBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

/** A typed view when the tensor's file offset is aligned for it, else a view over an aligned copy. */
function elements<T>(bytes: Uint8Array, Type: TypedArrayOf<T>): T {
  const source = bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0 ? bytes : copyBytes(bytes);
  return new Type(source.buffer, source.byteOffset, source.byteLength / Type.BYTES_PER_ELEMENT);
}

/** Names sharing the longest prefix with `wanted`: a hint for a typo or a missing `model.` prefix. */
function closestNames(wanted: string, names: string[], count = 3): string[] {
  const shared = (name: string) => {
    let i = 0;
    while (i < name.length && i < wanted.length && name[i] === wanted[i]) i++;
    return i;
  };
  return [...names].sort((a, b) => shared(b) - shared(a) || a.localeCompare(b)).slice(0, count);
}

export class SafetensorsFile {
  readonly header: SafetensorsHeader;

  /** `bytes` is the whole file; it is validated now and kept (not copied). */
  constructor(
    private readonly fileBytes: Uint8Array,
    readonly fileName: string,
  ) {
    this.header = parseSafetensorsHeader(fileBytes, fileName, fileBytes.length);
  }

  /** Tensor names in data order. */
  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (info) return info;
    const names = this.names();
    const hint = names.length ? `; closest names: ${closestNames(name, names).map((n) => `"${n}"`).join(', ')}` : '';
    throw new QloraError(
      'WEIGHTS_CORRUPT',
      `${this.fileName}: no tensor "${name}" (the file holds ${names.length} tensors${hint}). ` +
        'Check that the file belongs to this model.',
      { fileName: this.fileName, tensor: name },
    );
  }

  /** The tensor's raw little-endian bytes: a view into the file, not a copy. Do not write to it. */
  bytes(name: string): Uint8Array {
    const { begin, end } = this.info(name);
    const start = this.header.dataStart;
    return this.fileBytes.subarray(start + begin, start + end);
  }

  /** U8 tensors (packed NF4, bitsandbytes quant state) as a view into the file. Do not write to it. */
  uint8(name: string): Uint8Array {
    this.expectDtype(name, ['U8'], 'uint8()');
    return this.bytes(name);
  }

  /**
   * F32/F16/BF16 exactly, F64 rounded to nearest, as a new array the caller owns. Always a copy: file
   * offsets need not be 4-aligned, and a view would let a caller scribble over the file.
   */
  float32(name: string): Float32Array {
    const dtype = this.expectDtype(name, ['F32', 'F16', 'BF16', 'F64'], 'float32()');
    const bytes = this.bytes(name);
    switch (dtype) {
      case 'F32':
        return new Float32Array(copyBytes(bytes).buffer);
      case 'F16':
        return f16ArrayToF32(elements(bytes, Uint16Array));
      case 'BF16':
        return bf16ArrayToF32(elements(bytes, Uint16Array));
      default:
        return new Float32Array(elements(bytes, Float64Array));
    }
  }

  private expectDtype(name: string, allowed: Dtype[], reader: string): Dtype {
    const { dtype } = this.info(name);
    if (!allowed.includes(dtype)) {
      throw new QloraError(
        'WEIGHTS_CORRUPT',
        `${this.fileName}: tensor "${name}" is ${dtype}, but ${reader} reads ${allowed.join('/')}`,
        { fileName: this.fileName, tensor: name },
      );
    }
    return dtype;
  }
}
