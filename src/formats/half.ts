// 16-bit float conversions for checkpoints stored as F16 / BF16 and for writing them back.
// Decoding is exact (every f16 and bf16 value is an f32). Encoding rounds to nearest, ties to even,
// from the f32 value, exactly as torch does (c10::Half and c10::BFloat16 are both built from a float,
// so a float64 tensor goes f64 -> f32 -> f16 in torch too; our JS numbers take the same path).

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** f16 bit pattern -> its exact value. */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Nearest f16 (ties to even) of `x` rounded to f32 first; overflow -> ±Inf, NaN -> sign|0x7e00 (as c10). */
export function f32ToF16Bits(x: number): number {
  scratchF32[0] = x;
  const f = scratchU32[0];
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  const mantissa = f & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa === 0 ? 0x7c00 : 0x7e00);

  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // >= 2^16: beyond 65504 even after rounding
  if (halfExponent <= 0) {
    // Subnormal f16: shift the full significand (implicit 1 included) down to units of 2^-24.
    const shift = 14 - halfExponent;
    if (shift > 24) return sign; // below 2^-25: rounds to zero
    const significand = mantissa | 0x800000;
    let half = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++; // may carry into the smallest normal: correct
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent (even into Inf) is correct
  return sign | half;
}

/** bf16 bit pattern -> its exact value (bf16 is the top half of an f32). */
export function bf16ToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0];
}

/** Nearest bf16 (ties to even) of `x` rounded to f32 first; NaN -> 0x7fc0 exactly as c10::BFloat16. */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  if (Number.isNaN(scratchF32[0])) return 0x7fc0;
  const f = scratchU32[0];
  const roundingBias = 0x7fff + ((f >>> 16) & 1);
  return ((f + roundingBias) >>> 16) & 0xffff; // `+` is exact in f64, the carry may reach Inf: correct
}

let f16Table: Float32Array | null = null;

/** Bulk f16 -> f32 through a 65536-entry table (256 KB, built once): loading F16 checkpoints is hot. */
export function f16ArrayToF32(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) f16Table[bits] = f16ToF32(bits);
  }
  const table = f16Table;
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]];
  return dst;
}

/** Bulk bf16 -> f32: shift each pattern into the top half of a u32 (little-endian hosts, as WebGPU). */
export function bf16ArrayToF32(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  const dstBits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) dstBits[i] = src[i] << 16;
  return dst;
}

export function f32ArrayToF16(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]);
  return out;
}

export function f32ArrayToBf16(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToBf16Bits(src[i]);
  return out;
}
