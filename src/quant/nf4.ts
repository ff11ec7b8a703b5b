// NF4 quantization exactly as bitsandbytes does it (quantize_4bit, quant_type="nf4"):
//   - blocks of 64 over the row-major flattened weight, absmax per block;
//   - x * (1/absmax) in float32, nearest NF4 level by bitsandbytes' decision tree (a value equal to a
//     threshold goes to the lower code; an all-zero block gives NaN and so code 0, as on CUDA);
//   - two codes per byte, the even element in the high nibble;
//   - double quantization (compress_statistics=True): absmax - mean(absmax) quantized in blocks of 256
//     with the signed 8-bit dynamic map (dQuantize's binary search + float32 midpoints).
// Dequantization mirrors bitsandbytes in float32: absmax = code8[q] * nestedAbsmax + offset, then
// level[q4] * absmax. The GPU kernels (shaders/weight_nf4.wgsl) compute the same products.

import { NF4_LEVELS, NF4_THRESHOLDS, SIGNED_DYNAMIC_MAP } from './code-tables';
import { bf16ArrayToF32, f16ArrayToF32, f32ToF16Bits } from '../formats/half';

export const NF4_BLOCK = 64;
export const NESTED_BLOCK = 256;

/** The absmax of each 64-block, double-quantized: 8-bit codes with a float32 scale per 256 codes. */
export interface DoubleQuantAbsmax {
  readonly codes: Uint8Array; // [nBlocks]
  readonly nestedAbsmax: Float32Array; // [ceil(nBlocks / 256)]
  readonly offset: number; // float32 mean that was subtracted
  readonly code: Float32Array; // [256] the 8-bit map (bitsandbytes' nested_quant_map)
  readonly nestedBlocksize: number; // 256 in bitsandbytes
}

export interface Nf4Weight {
  readonly shape: readonly [number, number]; // [out, in] of the linear layer
  readonly packed: Uint8Array; // [ceil(n / 2)]
  readonly blocksize: number; // 64 unless a loaded checkpoint says otherwise
  readonly absmax: Float32Array | DoubleQuantAbsmax;
}

const f32 = Math.fround;

/** 4-bit code of a normalized value: the number of thresholds strictly below it (4 comparisons). */
export function nf4Code(x: number): number {
  const t = NF4_THRESHOLDS;
  let c = x > t[7] ? 8 : 0;
  c += x > t[c + 3] ? 4 : 0;
  c += x > t[c + 1] ? 2 : 0;
  c += x > t[c] ? 1 : 0;
  return c;
}

/**
 * The NF4 code of every float32 whose top 16 bits (sign, exponent, 7 mantissa bits) are the index,
 * or 255 where such floats straddle a threshold (16 of the 65536 ranges) or are NaN/Inf mixes: there
 * the comparisons decide. A lookup instead of four data-dependent branches makes quantization about
 * four times faster and gives the same codes (nf4Code is monotonic, so equal codes at both ends of a
 * range mean the same code throughout).
 */
let codeByTopBits: Uint8Array | null = null;

function nf4CodeTable(): Uint8Array {
  if (codeByTopBits) return codeByTopBits;
  const table = new Uint8Array(65536);
  const f = new Float32Array(2);
  const bits = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    bits[0] = h << 16;
    bits[1] = (h << 16) | 0xffff;
    const a = nf4Code(f[0]);
    table[h] = a === nf4Code(f[1]) ? a : 255;
  }
  return (codeByTopBits = table);
}

/** 16-bit floats as stored in a checkpoint, quantized without a full float32 copy of the weight. */
export interface HalfBits {
  readonly dtype: 'F16' | 'BF16';
  readonly bits: Uint16Array;
}

/** Quantizes the blocks of `w` (whole blocks, except maybe a last short one) into packed/absmax from block `firstBlock`. */
function quantizeBlocksInto(w: Float32Array, blocksize: number, packed: Uint8Array, absmax: Float32Array, firstBlock: number): void {
  const n = w.length;
  const nBlocks = Math.ceil(n / blocksize);
  const table = nf4CodeTable();
  // x * (1/absmax) rounded to float32 by the store, then read back as bits for the table.
  const scaled = new Float32Array(blocksize + 1);
  const scaledBits = new Uint32Array(scaled.buffer);
  const code = (j: number) => {
    const c = table[scaledBits[j] >>> 16];
    return c === 255 ? nf4Code(scaled[j]) : c;
  };
  const packedBase = (firstBlock * blocksize) >> 1;
  for (let b = 0; b < nBlocks; b++) {
    const start = b * blocksize;
    const end = Math.min(n, start + blocksize);
    let m = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(w[i]);
      if (a > m) m = a;
    }
    absmax[firstBlock + b] = m;
    const inv = f32(1 / m); // Infinity for an all-zero block: 0 * Inf = NaN -> code 0, like CUDA.
    const len = end - start;
    for (let j = 0; j < len; j++) scaled[j] = w[start + j] * inv;
    scaled[len] = 0; // bitsandbytes pads an odd tail with 0.0
    // Blocks are even-sized except maybe the last, so pairs never straddle blocks.
    for (let j = 0; j < len; j += 2) packed[packedBase + ((start + j) >> 1)] = (code(j) << 4) | code(j + 1);
  }
}

/** Elements converted from 16-bit at a time: a multiple of any block size, small enough to stay in cache. */
const HALF_CHUNK = 1 << 16;

/** Blockwise absmax quantization to NF4 codes; returns the packed bytes and the float32 absmax. */
export function quantizeNf4Blocks(w: Float32Array | HalfBits, blocksize = NF4_BLOCK): { packed: Uint8Array; absmax: Float32Array } {
  const n = w instanceof Float32Array ? w.length : w.bits.length;
  const absmax = new Float32Array(Math.ceil(n / blocksize));
  const packed = new Uint8Array(Math.ceil(n / 2));
  if (w instanceof Float32Array) {
    quantizeBlocksInto(w, blocksize, packed, absmax, 0);
    return { packed, absmax };
  }
  // Exact either way: a 16-bit float widens to float32 without rounding.
  const chunk = Math.ceil(HALF_CHUNK / blocksize) * blocksize;
  const scratch = new Float32Array(chunk);
  const widen = w.dtype === 'BF16' ? bf16ArrayToF32 : f16ArrayToF32;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    const part = widen(w.bits.subarray(start, start + len), scratch.subarray(0, len));
    quantizeBlocksInto(part, blocksize, packed, absmax, start / blocksize);
  }
  return { packed, absmax };
}

/** bitsandbytes' dQuantize<0>: binary search over the ascending 256-entry code, then float32 midpoints. */
export function quantize8bitCode(code: Float32Array, x: number): number {
  let pivot = 127;
  let upperPivot = 255;
  let lowerPivot = 0;
  let lower = -1;
  let upper = 1;
  let val = code[pivot];
  for (let i = 64; i > 0; i >>= 1) {
    if (x > val) {
      lowerPivot = pivot;
      lower = val;
      pivot += i;
    } else {
      upperPivot = pivot;
      upper = val;
      pivot -= i;
    }
    val = code[pivot];
  }
  if (upperPivot === 255) upper = code[upperPivot];
  if (lowerPivot === 0) lower = code[lowerPivot];
  if (x > val) {
    const mid = f32(f32(upper + val) * 0.5);
    return x > mid ? upperPivot : pivot;
  }
  const mid = f32(f32(lower + val) * 0.5);
  return x < mid ? lowerPivot : pivot;
}

/**
 * float32 pairwise sum in numpy's order (8 accumulators per block of <= 128, halves above). The mean
 * of the absmax is the double-quant offset, and it is stored: this order reproduces the offsets of
 * the reference checkpoints bit for bit, where an f64 sum or a plain f32 loop is off by an ulp.
 */
function pairwiseSumF32(a: Float32Array, start: number, n: number): number {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r = f32(r + a[start + i]);
    return r;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = f32(r[j] + a[start + i + j]);
    let res = f32(f32(f32(r[0] + r[1]) + f32(r[2] + r[3])) + f32(f32(r[4] + r[5]) + f32(r[6] + r[7])));
    for (; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f32(pairwiseSumF32(a, start, n2) + pairwiseSumF32(a, start + n2, n - n2));
}

function meanF32(a: Float32Array): number {
  return f32(pairwiseSumF32(a, 0, a.length) / a.length);
}

export function doubleQuantize(absmax: Float32Array, code: Float32Array = SIGNED_DYNAMIC_MAP, nestedBlocksize = NESTED_BLOCK): DoubleQuantAbsmax {
  const offset = meanF32(absmax);
  const n = absmax.length;
  const centered = new Float32Array(n);
  for (let i = 0; i < n; i++) centered[i] = absmax[i] - offset;
  const nNested = Math.ceil(n / nestedBlocksize);
  const nestedAbsmax = new Float32Array(nNested);
  const codes = new Uint8Array(n);
  for (let b = 0; b < nNested; b++) {
    const start = b * nestedBlocksize;
    const end = Math.min(n, start + nestedBlocksize);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(centered[i]));
    nestedAbsmax[b] = m;
    const inv = f32(1 / m);
    for (let i = start; i < end; i++) codes[i] = quantize8bitCode(code, f32(centered[i] * inv));
  }
  return { codes, nestedAbsmax, offset, code, nestedBlocksize };
}

export function quantizeNf4(w: Float32Array | HalfBits, shape: readonly [number, number], opts: { doubleQuant?: boolean } = {}): Nf4Weight {
  const n = w instanceof Float32Array ? w.length : w.bits.length;
  if (n !== shape[0] * shape[1]) throw new Error(`quantizeNf4: ${n} values for shape [${shape}]`);
  const { packed, absmax } = quantizeNf4Blocks(w);
  return { shape, packed, blocksize: NF4_BLOCK, absmax: (opts.doubleQuant ?? true) ? doubleQuantize(absmax) : absmax };
}

/** The float32 absmax of every 64-block (decoding the double quantization when present). */
export function blockAbsmax(absmax: Float32Array | DoubleQuantAbsmax): Float32Array {
  if (absmax instanceof Float32Array) return absmax;
  const out = new Float32Array(absmax.codes.length);
  for (let i = 0; i < out.length; i++) {
    const scale = absmax.nestedAbsmax[Math.floor(i / absmax.nestedBlocksize)];
    out[i] = f32(f32(absmax.code[absmax.codes[i]] * scale) + absmax.offset);
  }
  return out;
}

/** Dequantized float32 weight, row-major [out, in]. */
export function dequantizeNf4(q: Nf4Weight): Float32Array {
  const n = q.shape[0] * q.shape[1];
  const absmax = blockAbsmax(q.absmax);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const byte = q.packed[i >> 1];
    const c = i & 1 ? byte & 15 : byte >> 4;
    out[i] = NF4_LEVELS[c] * absmax[Math.floor(i / q.blocksize)];
  }
  return out;
}

/**
 * Rows [rowStart, rowEnd) of the weight dequantized as dequantizeNf4 does (float32), then rounded to
 * the nearest f16 (ties to even, f32ToF16Bits): the bits shaders/nf4_decode_f16.wgsl writes, row-major,
 * with a 0 after an odd count so the halves pair into whole u32s (element 2i in the low half).
 */
export function dequantizeNf4F16(q: Nf4Weight, rowStart = 0, rowEnd = q.shape[0]): Uint16Array {
  const cols = q.shape[1];
  const absmax = blockAbsmax(q.absmax);
  const start = rowStart * cols;
  const count = (rowEnd - rowStart) * cols;
  const out = new Uint16Array(count + (count & 1));
  const value = new Float32Array(1);
  for (let j = 0; j < count; j++) {
    const i = start + j;
    const byte = q.packed[i >> 1];
    value[0] = NF4_LEVELS[i & 1 ? byte & 15 : byte >> 4] * absmax[Math.floor(i / q.blocksize)];
    out[j] = f32ToF16Bits(value[0]);
  }
  return out;
}

/** Bytes the quantized weight occupies (packed codes + absmax storage). */
export function nf4Bytes(q: Nf4Weight): number {
  const a = q.absmax;
  return q.packed.byteLength + (a instanceof Float32Array ? a.byteLength : a.codes.byteLength + a.nestedAbsmax.byteLength + 4 + 1024);
}
