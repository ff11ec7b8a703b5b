// The device check's fair verdict on f16 products (src/bench/product-bound.ts): it passes the H200's 12
// failed products (checks.jsonl of ../shared/bench/h200-2026-12-04: same shapes, same seeds), which the
// old fixed tolerance against unrounded operands failed, and fails planted indexing bugs — a column off
// by one, a wrong row stride, a dropped K step — on a CPU simulation of the f16 walk and on the emulated
// tensor-core back end on this adapter (SwiftShader: the same WGSL→SPIR-V path the H200 ran).
import { describe, it, expect } from 'vitest';
import { productReference, checkProduct, addend } from '../src/bench/product-bound';
import type { ProductNumerics, ProductSpec } from '../src/bench/product-bound';
import { compare, productLine } from '../src/bench/device-check';
import { refMatmul } from '../src/ref/matmul';
import { randomF32 } from '../src/ref/random';
import { f16ToF32, f32ToF16Bits } from '../src/formats/half';
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../src/io/node-gpu';
import { createGpuContext } from '../src/gpu/context';
import { matmul } from '../src/gpu/ops/matmul';
import { f32buf, run } from './helpers/gpu';

const TENSOR_CORES: ProductNumerics = { operands: 'f16', f16Products: false };
const SCALAR_F16: ProductNumerics = { operands: 'f16', f16Products: true };
const OLD_F16_TOL = { atol: 2e-3, rtol: 4e-3 }; // what the H200 run held the f16 back ends to

const h = (v: number) => f16ToF32(f32ToF16Bits(v));

/**
 * The f16 walk on the CPU: C[m, n] = 0.5·Σ_k f16(A[m, k])·f16(B[k, n]) summed in f32 in k order (+ bias + C₀),
 * products rounded to f16 when `f16Products`; `skipLastK` plants a tail bug (the ragged last K step lost).
 */
function simulate(A: Float32Array, B: Float32Array, M: number, N: number, K: number, C0: Float32Array, bias: Float32Array, o: { f16Products?: boolean; skipLastK?: boolean } = {}): Float32Array {
  const out = new Float32Array(M * N);
  const [a, b] = [A.map(h), B.map(h)];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K - (o.skipLastK ? 1 : 0); k++) s = Math.fround(s + (o.f16Products ? h(a[m * K + k] * b[k * N + n]) : Math.fround(a[m * K + k] * b[k * N + n])));
      out[m * N + n] = Math.fround(Math.fround(Math.fround(0.5 * s) + bias[n]) + C0[m * N + n]);
    }
  }
  return out;
}

// The device check's "dense M=257 N=130 K=200 transA=false transB=false" (its seeds), failed on the H200 by
// scalar-f16, subgroup-matrix and the emulation alike ("1/33410 outside; first [12743]").
const [M, N, K] = [257, 130, 200];
const A = randomF32(M * K, 1 + M);
const B = randomF32(K * N, 2 + N);
const C0 = randomF32(M * N, 3);
const bias = randomF32(N, 4);
const spec: ProductSpec = { M, N, terms: [{ A, B, K, alpha: 0.5 }], addend: addend(M, N, { bias, beta: 1, C: C0 }) };
const unrounded = refMatmul(A, B, M, N, K, { alpha: 0.5, beta: 1, C: C0, bias });

/** A planted output bug: one row read one column off (its last column from the next row). */
function columnOffByOne(got: Float32Array, row: number): Float32Array {
  const bad = got.slice();
  for (let j = 0; j < N; j++) bad[row * N + j] = got[row * N + j + 1];
  return bad;
}

/** A planted output bug: rows stored with stride N − 1 (each row shifted left by its index). */
function wrongRowStride(got: Float32Array): Float32Array {
  const bad = new Float32Array(got.length);
  for (let m = 0; m < M; m++) for (let j = 0; j < N; j++) bad[m * N + j] = got[Math.min(m * (N - 1) + j, got.length - 1)];
  return bad;
}

describe('the product bound on a CPU simulation of the f16 walk', () => {
  const ref = productReference(spec, TENSOR_CORES);

  it('reproduces the H200 failure under the old check and passes under the bound', () => {
    const got = simulate(A, B, M, N, K, C0, bias);
    const old = compare('old', 'sim', got, unrounded, OLD_F16_TOL);
    expect(old.ok).toBe(false);
    expect(old.detail).toContain('first [12743]');
    const v = checkProduct(got, ref);
    expect(v, v.first).toMatchObject({ ok: true, bad: 0 });
    expect(v.worstOverBound).toBeLessThan(0.5);
  });

  it('passes scalar-f16 (products rounded to f16) under its own bound', () => {
    const v = checkProduct(simulate(A, B, M, N, K, C0, bias, { f16Products: true }), productReference(spec, SCALAR_F16));
    expect(v.ok, v.first).toBe(true);
  });

  it('fails a column off by one, a wrong row stride and a dropped K step', () => {
    const got = simulate(A, B, M, N, K, C0, bias);
    expect(checkProduct(columnOffByOne(got, 100), ref).ok).toBe(false);
    expect(checkProduct(wrongRowStride(got), ref).ok).toBe(false);
    expect(checkProduct(simulate(A, B, M, N, K, C0, bias, { skipLastK: true }), ref).ok).toBe(false);
    const f16Products = productReference(spec, SCALAR_F16); // the looser bound still sees a lost K step
    expect(checkProduct(simulate(A, B, M, N, K, C0, bias, { f16Products: true, skipLastK: true }), f16Products).ok).toBe(false);
  });

  it('grows with K and with the magnitudes, and fails NaN and a length mismatch', () => {
    const one = (k: number) => productReference({ M: 1, N: 1, terms: [{ A: new Float32Array(k).fill(1), B: new Float32Array(k).fill(1), K: k }] }, TENSOR_CORES).bound[0];
    expect(one(400) / one(200)).toBeGreaterThan(3.9); // (K + 2)·K: the sum's size and its error both grow
    const r = productReference({ M: 1, N: 1, terms: [{ A: [1], B: [1], K: 1 }] }, TENSOR_CORES);
    expect(checkProduct([NaN], r).ok).toBe(false);
    expect(checkProduct([1, 1], r).ok).toBe(false);
  });

  it('counts what flushing an f16 subnormal operand would change', () => {
    const tiny = 2 ** -20; // an f16 subnormal: a driver may flush it to 0
    const r = productReference({ M: 1, N: 1, terms: [{ A: [tiny, 1], B: [3, 1], K: 2 }] }, TENSOR_CORES);
    expect(checkProduct([1], r).ok).toBe(true); // 3·2⁻²⁰ lost
  });
});

describe('the fair check on the emulated tensor-core back end (this adapter)', () => {
  it('passes the H200 failure, named in a check line, and fails the same output with a planted bug', async () => {
    useSoftwareAdapterIfNoDriver();
    const ctx = await createGpuContext(await nodeAdapter(), { gemm: 'subgroup-matrix-emulated' });
    try {
      const c = f32buf(ctx, C0);
      const [got] = await run(ctx, (rec) => matmul(rec, c, f32buf(ctx, A), f32buf(ctx, B), M, N, K, { alpha: 0.5, beta: 1, bias: f32buf(ctx, bias) }), c);
      expect(compare('old', 'emulated', got, unrounded, OLD_F16_TOL).ok).toBe(false); // as on the H200
      const be = { name: 'subgroup-matrix-emulated', numerics: TENSOR_CORES };
      const line = productLine('dense M=257 N=130 K=200', be, got, spec);
      expect(line, line.detail).toMatchObject({ ok: true, backend: 'subgroup-matrix-emulated', tol: { K: 200, f16_operands: 1, f16_products: 0 } });
      expect(line.worst_over_bound).toBeLessThan(0.5);
      for (const bad of [columnOffByOne(got, 0), wrongRowStride(got)]) {
        const l = productLine('planted', be, bad, spec);
        expect(l.ok).toBe(false);
        expect(l.detail).toMatch(/outside; first \[\d+\] got/);
      }
    } finally {
      ctx.device.destroy();
    }
  });
});
