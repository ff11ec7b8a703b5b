// NF4 → f16 decode (shaders/nf4_decode_f16.wgsl, src/gpu/ops/nf4-decode.ts) bit for bit against
// dequantizeNf4F16 (src/quant/nf4.ts: dequantizeNf4's float32 values, f32ToF16Bits' rounding), compared
// as u16 words: ragged shapes (one row, odd counts, a partial last block, nested blocks crossed), both
// absmax formats, row ranges starting on an odd element, values at the edges of f16 rounding, and the
// decode-then-product helpers against the same product on an f16 weight uploaded from the reference.
import { describe, it, expect, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { readBuffer, uploadBuffer } from '../src/gpu/context';
import { uploadWeight } from '../src/gpu/weight';
import type { GpuWeight } from '../src/gpu/weight';
import { Nf4F16Scratch, f16PackedBytes, linearBwdDecoded, linearFwdDecoded, nf4DecodeF16 } from '../src/gpu/ops/nf4-decode';
import { linearBwd, linearFwd } from '../src/gpu/ops/matmul';
import { dequantizeNf4F16, quantizeNf4 } from '../src/quant/nf4';
import type { Nf4Weight } from '../src/quant/nf4';
import { f32ToF16Bits } from '../src/formats/half';
import { gpu, emptyBuf, f32buf, run } from './helpers/gpu';
import { randomF32 } from './helpers/compare';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

/** The worst-case report of two u16 arrays: count, first mismatches (index, got, expected) in hex. */
function expectSameBits(name: string, got: Uint16Array, expected: Uint16Array): void {
  expect(got.length, `${name}: length`).toBe(expected.length);
  const bad: string[] = [];
  let n = 0;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== expected[i]) {
      n++;
      if (bad.length < 5) bad.push(`[${i}] got 0x${got[i].toString(16)} expected 0x${expected[i].toString(16)}`);
    }
  }
  expect(n, `${name}: ${n}/${got.length} halves differ; first: ${bad.join(', ')}`).toBe(0);
}

/** Decodes rows [r0, r1) of q on the GPU and reads the halves back. */
async function gpuDecode(q: Nf4Weight, r0: number, r1: number): Promise<Uint16Array> {
  const w = uploadWeight(ctx, { format: 'nf4', rows: q.shape[0], cols: q.shape[1], data: q }, 'W');
  const count = (r1 - r0) * q.shape[1];
  const out = ctx.createBuffer(f16PackedBytes(count), 0x80 | 0x4 | 0x8, 'decoded');
  await run(ctx, (rec) => nf4DecodeF16(rec, out, w, r0, r1));
  return new Uint16Array(await readBuffer(ctx, out, 0, f16PackedBytes(count)));
}

/**
 * Weights whose rows span the f16 range: most of order 1, one row of order 1e-6 (f16 subnormals), one
 * around 3e4-1e5 (the largest finite halves and overflow to Inf).
 */
function weights(rows: number, cols: number, seed: number): Float32Array {
  const w = randomF32(rows * cols, seed);
  const scale = [1, 1e-6, 1, 9e4, 0.01];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) w[r * cols + c] *= scale[r % scale.length];
  return w;
}

describe('nf4_decode_f16 is bit-exact against dequantizeNf4F16', () => {
  // [rows, cols]: one row; even and odd counts; a partial last block (7·130 = 14 blocks + 14);
  // 130·257 = 33410 weights = 523 blocks, three nested blocks of 256.
  const SHAPES: [number, number][] = [[1, 64], [3, 100], [5, 33], [7, 130], [130, 257]];
  for (const doubleQuant of [false, true]) {
    for (const [rows, cols] of SHAPES) {
      it(`${doubleQuant ? 'nf4dq' : 'nf4'} ${rows}×${cols}`, async () => {
        const q = quantizeNf4(weights(rows, cols, rows * 1000 + cols), [rows, cols], { doubleQuant });
        expectSameBits(`${rows}×${cols}`, await gpuDecode(q, 0, rows), dequantizeNf4F16(q));
      });
    }
    it(`${doubleQuant ? 'nf4dq' : 'nf4'} row ranges: an odd start and count (7×129 rows 1..4), one row, none`, async () => {
      const q = quantizeNf4(weights(7, 129, 5), [7, 129], { doubleQuant });
      for (const [r0, r1] of [[1, 4], [6, 7], [2, 6]]) {
        expectSameBits(`rows ${r0}..${r1}`, await gpuDecode(q, r0, r1), dequantizeNf4F16(q, r0, r1));
      }
      expect(dequantizeNf4F16(q, 3, 3).length).toBe(0);
    });
  }

  it('rounds to nearest, ties to even, with integer operations: halfway cases, subnormals, 65520, signed zero', async () => {
    // Blocks of 2 with codes (15, 0) give (absmax, -absmax) exactly (NF4 levels ±1), so each absmax
    // is a value the kernel must round; code 7 (level 0) times a negative absmax gives -0.
    const cases: [number, number][] = [
      [1, 0x3c00],
      [65504, 0x7bff],
      [Math.fround(65519.99), 0x7bff], // just below halfway to 2^16
      [65520, 0x7c00], // halfway: the even neighbour is Inf
      [1e5, 0x7c00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // halfway between 0 and 2^-24: to even
      [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 units: to even
      [Math.fround(2 ** -25 * 1.0000001), 0x0001], // just above halfway
      [2 ** -26, 0x0000],
      [1023.5 * 2 ** -24, 0x0400], // halfway between the largest subnormal and the smallest normal
      [1 + 2 ** -11, 0x3c00], // halfway: to even
      [1 + 3 * 2 ** -11, 0x3c02], // halfway: to even (up)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above halfway
      [Math.fround(2047.9999), 0x6800], // rounds up across an exponent
      [1e-40, 0x0000], // an f32 subnormal
      [-0, 0x8000],
    ];
    const n = cases.length * 2 + 2;
    const absmax = new Float32Array(n / 2);
    const packed = new Uint8Array(n / 2);
    cases.forEach(([v], b) => {
      absmax[b] = v;
      packed[b] = (15 << 4) | 0; // (v, -v)
    });
    absmax[cases.length] = -3;
    packed[cases.length] = (7 << 4) | 15; // (0 · -3 = -0, -3)
    const q: Nf4Weight = { shape: [1, n], packed, blocksize: 2, absmax };
    const ref = dequantizeNf4F16(q);
    const expected: number[] = [];
    for (const [, bits] of cases) expected.push(bits, bits ^ 0x8000);
    expected.push(0x8000, f32ToF16Bits(-3));
    expectSameBits('reference vs hand-made bits', ref, Uint16Array.from(expected));
    expectSameBits('GPU', await gpuDecode(q, 0, 1), ref);
  });
});

describe('decode-then-product helpers', () => {
  it('linearFwdDecoded / linearBwdDecoded equal the same products on the reference f16 weight', async () => {
    const [rows, cols, M] = [7, 130, 3];
    const q = quantizeNf4(weights(rows, cols, 9).map((v) => v / 1e3), [rows, cols], { doubleQuant: true });
    const nf4 = uploadWeight(ctx, { format: 'nf4', rows, cols, data: q }, 'W');
    const halves = dequantizeNf4F16(q);
    const f16: GpuWeight = { ...nf4, format: 'f16', buffers: [uploadBuffer(ctx, halves, 'W.f16')] };
    const scratch = new Nf4F16Scratch(ctx, rows * cols + 100); // larger than the weight: the view reads rows·cols
    const x = f32buf(ctx, randomF32(M * cols, 1));
    const dy = f32buf(ctx, randomF32(M * rows, 2));
    const [y1, y2, dx1, dx2] = [emptyBuf(ctx, M * rows), emptyBuf(ctx, M * rows), emptyBuf(ctx, M * cols), emptyBuf(ctx, M * cols)];
    const [gy1, gy2, gdx1, gdx2] = await run(ctx, (rec) => {
      linearFwdDecoded(rec, scratch, y1, x, nf4, M);
      linearFwd(rec, y2, x, f16, M);
      linearBwdDecoded(rec, scratch, dx1, dy, nf4, M);
      linearBwd(rec, dx2, dy, f16, M);
    }, y1, y2, dx1, dx2);
    expect(Array.from(gy1)).toEqual(Array.from(gy2));
    expect(Array.from(gdx1)).toEqual(Array.from(gdx2));
    expect(gy1.some((v) => v !== 0)).toBe(true);
    scratch.destroy(ctx);
  });
});
