// The generated matrix product (src/gpu/gemm/, on the tests' `scalar` back end) with every operand
// snippet against src/ref/matmul.ts, on ragged shapes (M = 1, K not a multiple of the 16-wide k tile,
// N not a multiple of 64, rank 1). Other back ends and tiles: test/gemm.test.ts.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { matmul, linearFwd, linearBwd } from '../src/gpu/ops/matmul';
import { uploadWeight } from '../src/gpu/weight';
import type { HostWeight } from '../src/gpu/weight';
import { refMatmul, refLinearFwd, refLinearBwd } from '../src/ref/matmul';
import { f32ToF16Bits, f16ToF32, f32ToBf16Bits, bf16ToF32 } from '../src/formats/half';
import { quantizeNf4, dequantizeNf4 } from '../src/quant/nf4';
import { gpu, f32buf, u32buf, emptyBuf, run } from './helpers/gpu';
import { refDropout } from '../src/ref/activation';
import { expectClose, randomF32 } from './helpers/compare';

const SHAPES: [number, number, number][] = [
  [1, 5, 37],
  [3, 1, 16],
  [70, 67, 33],
  [64, 64, 64],
  [129, 8, 200],
];

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

// LoRA's dropout applied as the product loads x (operand_dense_dropout.wgsl): the same as the dropout
// kernel's output multiplied plainly — the mask bit for bit (refDropout uses the shader's hash).
describe('dense matmul reading one operand through dropout', () => {
  for (const [M, N, K] of [[1, 16, 37], [70, 5, 33], [129, 8, 200]] as const) {
    it(`h = dropout(x)·Aᵀ and dA = dhᵀ·dropout(x), M=${M} N=${N} K=${K}`, async () => {
      const [p, stream, seed] = [0.25, 11, 777];
      const x = randomF32(M * K, 5 + M); // [M, K]: the LoRA input
      const a = randomF32(N * K, 6); // [N, K]: lora_A as stored (r = N)
      const dh = randomF32(M * N, 7); // [M, N]
      const h = emptyBuf(ctx, M * N);
      const dA0 = randomF32(N * K, 8);
      const dA = f32buf(ctx, dA0);
      const xb = f32buf(ctx, x);
      const seedBuf = u32buf(ctx, [seed]);
      const [gh, gdA] = await run(ctx, (rec) => {
        matmul(rec, h, xb, f32buf(ctx, a), M, N, K, { transB: true, dropout: { operand: 'A', p, stream, seed: seedBuf } });
        matmul(rec, dA, f32buf(ctx, dh), xb, N, K, M, { transA: true, beta: 1, dropout: { operand: 'B', p, stream, seed: seedBuf } });
      }, h, dA);
      const xd = refDropout(x, seed, stream, p);
      expectClose('h', gh, refMatmul(xd, a, M, N, K, { transB: true }), { atol: 1e-5, rtol: 1e-5 });
      expectClose('dA', gdA, refMatmul(dh, xd, N, K, M, { transA: true, beta: 1, C: dA0 }), { atol: 1e-5, rtol: 1e-5 });
    });
  }
});

describe('dense matmul', () => {
  for (const [M, N, K] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`M=${M} N=${N} K=${K} transA=${transA} transB=${transB}`, async () => {
          const A = randomF32(M * K, 1 + M);
          const B = randomF32(K * N, 2 + N);
          const C0 = randomF32(M * N, 3);
          const bias = randomF32(N, 4);
          const c = f32buf(ctx, C0);
          const [got] = await run(ctx, (rec) => matmul(rec, c, f32buf(ctx, A), f32buf(ctx, B), M, N, K, { transA, transB, alpha: 0.5, beta: 1, bias: f32buf(ctx, bias) }), c);
          const want = refMatmul(A, B, M, N, K, { transA, transB, alpha: 0.5, beta: 1, C: C0, bias });
          expectClose('C', got, want, { atol: 1e-5, rtol: 1e-5 });
        });
      }
    }
  }
});

function hostWeight(format: 'f32' | 'f16' | 'bf16' | 'nf4' | 'nf4dq', W: Float32Array, rows: number, cols: number): { host: HostWeight; dense: Float32Array } {
  if (format === 'f32') return { host: { format, rows, cols, data: W }, dense: W };
  if (format === 'f16') {
    const bits = Uint16Array.from(W, f32ToF16Bits);
    return { host: { format, rows, cols, data: bits }, dense: Float32Array.from(bits, f16ToF32) };
  }
  if (format === 'bf16') {
    const bits = Uint16Array.from(W, f32ToBf16Bits);
    return { host: { format, rows, cols, data: bits }, dense: Float32Array.from(bits, bf16ToF32) };
  }
  const q = quantizeNf4(W, [rows, cols], { doubleQuant: format === 'nf4dq' });
  return { host: { format: 'nf4', rows, cols, data: q }, dense: dequantizeNf4(q) };
}

describe('linear with frozen weights', () => {
  for (const format of ['f32', 'f16', 'bf16', 'nf4', 'nf4dq'] as const) {
    for (const [M, N, K] of SHAPES) {
      if ((N * K) % 2) continue; // packed formats need an even element count
      it(`${format} fwd+bwd M=${M} out=${N} in=${K}`, async () => {
        const W = randomF32(N * K, 7 + N, -0.5, 0.5);
        const { host, dense } = hostWeight(format, W, N, K);
        const w = uploadWeight(ctx, host, 'W');
        const x = randomF32(M * K, 8);
        const bias = randomF32(N, 9);
        const y = emptyBuf(ctx, M * N);
        const dy = randomF32(M * N, 10);
        const dx = emptyBuf(ctx, M * K);
        const [gotY, gotDx] = await run(ctx, (rec) => {
          linearFwd(rec, y, f32buf(ctx, x), w, M, { bias: f32buf(ctx, bias) });
          linearBwd(rec, dx, f32buf(ctx, dy), w, M);
        }, y, dx);
        expectClose('y', gotY, refLinearFwd(x, dense, M, N, K, bias), { atol: 2e-5, rtol: 1e-5 });
        expectClose('dx', gotDx, refLinearBwd(dy, dense, M, N, K), { atol: 2e-5, rtol: 1e-5 });
      });
    }
  }
});
