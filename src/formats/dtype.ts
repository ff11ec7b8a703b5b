// The safetensors element types this project reads and writes, with their sizes and the order the
// reference writer (huggingface/safetensors, `enum Dtype`) lays tensors out in. The FP8/FP4 types of
// newer safetensors versions are left out on purpose: nothing here can compute with them, so a file
// using them is refused when its header is read rather than when a kernel meets the bytes.

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL';

export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  BOOL: 1,
};

/**
 * Position in the reference's `enum Dtype` (declared in increasing alignment). Its writer sorts tensors by
 * this, descending, then by name, so every tensor's data starts aligned to its element size.
 */
export const DTYPE_RANK: Readonly<Record<Dtype, number>> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 3,
  U16: 4,
  F16: 5,
  BF16: 6,
  I32: 7,
  U32: 8,
  F32: 9,
  F64: 10,
  I64: 11,
  U64: 12,
};

export const DTYPES = Object.keys(DTYPE_BYTES) as Dtype[];

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value);
}
