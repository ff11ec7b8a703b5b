// f16 / bf16 conversions: known bit patterns at the edges (zero, subnormals, max, Inf, NaN, ties), every
// f16 pattern round-tripped, and random f32 values checked against a nearest-neighbour search.

import { describe, expect, it } from 'vitest';
import {
  bf16ArrayToF32,
  bf16ToF32,
  f16ArrayToF32,
  f16ToF32,
  f32ArrayToBf16,
  f32ArrayToF16,
  f32ToBf16Bits,
  f32ToF16Bits,
} from '../src/formats/half';

describe('f16ToF32', () => {
  it.each([
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x3bff, 0.99951171875],
    [0x7bff, 65504],
    [0xfbff, -65504],
    [0x0400, 2 ** -14], // smallest normal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])('0x%s -> %s', (bits, value) => {
    expect(f16ToF32(bits)).toBe(value);
  });

  it('keeps the sign of zero and decodes NaN', () => {
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0xfc01)).toBeNaN();
  });
});

describe('f32ToF16Bits', () => {
  it.each([
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [1 / 3, 0x3555],
    [65504, 0x7bff],
    [65519.99, 0x7bff], // below the halfway point to 2^16
    [65520, 0x7c00], // exactly halfway: ties to even, and the even neighbour is Inf
    [1e5, 0x7c00],
    [-1e5, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // halfway between 0 and 2^-24: to even (0)
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 units: to even (2)
    [Math.fround(2 ** -25 * 1.0000001), 0x0001], // just above halfway
    [2 ** -26, 0x0000],
    [1023.5 * 2 ** -24, 0x0400], // halfway between largest subnormal and smallest normal: to even
    [1 + 2 ** -11, 0x3c00], // halfway between 0x3c00 and 0x3c01: to even
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: to even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above halfway
    [2047.9999, 0x6800], // rounds up across the exponent boundary to 2048
  ])('%s -> 0x%s', (value, bits) => {
    expect(f32ToF16Bits(value)).toBe(bits);
  });

  it('keeps the sign of zero and gives c10 NaN patterns', () => {
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(NaN)).toBe(0x7e00);
  });

  it('round-trips every non-NaN f16 pattern, and the bulk decoder agrees', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = f16ArrayToF32(all);
    for (let bits = 0; bits < 65536; bits++) {
      const value = f16ToF32(bits);
      if (Number.isNaN(value)) {
        expect(decoded[bits]).toBeNaN();
        continue;
      }
      if (decoded[bits] !== value || f32ToF16Bits(value) !== bits) {
        throw new Error(`f16 0x${bits.toString(16)}: decoded ${decoded[bits]} / ${value}, re-encoded 0x${f32ToF16Bits(value).toString(16)}`);
      }
    }
  });

  it('picks the nearest f16, ties to even, for random f32 values', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const scratch = new Float32Array(1);
    const scratchBits = new Uint32Array(scratch.buffer);
    for (let n = 0; n < 20000; n++) {
      scratchBits[0] = (random() * 2 ** 32) >>> 0;
      const x = scratch[0];
      if (!Number.isFinite(x) || Math.abs(x) >= 65520) continue;
      const bits = f32ToF16Bits(x);
      const error = Math.abs(f16ToF32(bits) - x);
      for (const neighbour of [bits - 1, bits + 1]) {
        if ((neighbour & 0x7fff) > 0x7bff || neighbour < 0) continue;
        const other = Math.abs(f16ToF32(neighbour) - x);
        // Never farther than a neighbour; equally far only when the chosen one is even.
        if (other < error || (other === error && bits & 1)) throw new Error(`x=${x}: chose 0x${bits.toString(16)}`);
      }
    }
  });

  it('bulk encoder matches the scalar one', () => {
    const values = [0, 1, -2.5, 65504, 1e-7, 3.14159, NaN, -Infinity];
    expect(Array.from(f32ArrayToF16(values))).toEqual(values.map(f32ToF16Bits));
  });
});

describe('bf16', () => {
  it.each([
    [0x3f80, 1],
    [0xbf80, -1],
    [0x4049, 3.140625],
    [0x7f7f, 3.3895313892515355e38], // largest finite
    [0x0080, 2 ** -126], // smallest normal
    [0x0001, 2 ** -133], // smallest subnormal
    [0x7f80, Infinity],
    [0xff80, -Infinity],
  ])('bf16ToF32(0x%s) = %s', (bits, value) => {
    expect(bf16ToF32(bits)).toBe(value);
  });

  it.each([
    [1, 0x3f80],
    [Math.PI, 0x4049], // f32 0x40490fdb: low half below halfway
    [1 + 2 ** -8, 0x3f80], // f32 0x3f808000: halfway, to even
    [1 + 3 * 2 ** -8, 0x3f82], // f32 0x3f818000: halfway, to even (up)
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // above halfway
    [3.4028234663852886e38, 0x7f80], // f32 max rounds up to Inf, as torch
    [-3.4028234663852886e38, 0xff80],
    [Infinity, 0x7f80],
    [-0, 0x8000],
    [1e-40, 0x0001], // f32 subnormal 0x000116c2
    [NaN, 0x7fc0],
  ])('f32ToBf16Bits(%s) = 0x%s', (value, bits) => {
    expect(f32ToBf16Bits(value)).toBe(bits);
  });

  it('round-trips every non-NaN bf16 pattern through the bulk paths', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = bf16ArrayToF32(all);
    const encoded = f32ArrayToBf16(decoded);
    for (let bits = 0; bits < 65536; bits++) {
      if (Number.isNaN(decoded[bits])) continue;
      if (decoded[bits] !== bf16ToF32(bits) || encoded[bits] !== bits) throw new Error(`bf16 0x${bits.toString(16)}`);
    }
  });
});
