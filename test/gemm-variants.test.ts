// Every tiling of the sweep's space (src/gpu/gemm/variants.ts) on the back ends that run here — `scalar` and
// the core-WGSL emulation of subgroup matrices — against src/ref/matmul.ts, so whatever `bench --sweep`
// picks on a GPU and the tuning table records is a tiling these tests ran. Per tiling, on tiny shapes:
//   (tileM + 1) × (tileN + 3) × (2·kStep + 5), B transposed, plain epilogue: one whole interior tile (the
//     edge-free loads and the direct store), ragged edge tiles in M and N, a ragged last k tile, three k
//     tiles (so the prefetch walk hands one tile over); again split in two slices of K;
//   1 × 7 × 37 with alpha, bias and beta (the staged, guarded epilogue).
// One pipeline per tiling (SwiftShader takes seconds to build one): B is [N, K] throughout.
// Tolerances as test/gemm.test.ts: f32-level against the reference on the operands the back end multiplies.
import { describe, it, beforeAll, expect } from 'vitest';
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../src/io/node-gpu';
import { createGpuContext } from '../src/gpu/context';
import type { GpuContext } from '../src/gpu/context';
import { matmul } from '../src/gpu/ops/matmul';
import { DEFAULT_FRAG, EMULATED_SUBGROUP_SIZE, splitK, tilingId, variantSpace } from '../src/gpu/gemm';
import type { GemmBackend, GemmTiling } from '../src/gpu/gemm';
import { refMatmul } from '../src/ref/matmul';
import { f16ToF32, f32ToF16Bits } from '../src/formats/half';
import { f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

useSoftwareAdapterIfNoDriver();

const f16round = (x: ArrayLike<number>) => Float32Array.from(x, (v) => f16ToF32(f32ToF16Bits(v)));
const same = (x: ArrayLike<number>) => Float32Array.from(x);
const TOL = { atol: 1e-5, rtol: 1e-5 };

const BACKENDS: { backend: GemmBackend; operand: (x: ArrayLike<number>) => Float32Array }[] = [
  { backend: 'scalar', operand: same },
  { backend: 'subgroup-matrix-emulated', operand: f16round },
];

describe('the sweep\'s space', () => {
  it('holds the shipped defaults and about ten tilings per back end (each costs seconds here), each id once', () => {
    for (const { backend } of BACKENDS) {
      const space = variantSpace(backend, DEFAULT_FRAG, EMULATED_SUBGROUP_SIZE);
      const ids = space.map(tilingId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toContain(backend === 'scalar' ? '64x64.k16' : '64x64.k32.sg2x2');
      expect(ids).toContain(backend === 'scalar' ? '128x128.k16' : '128x128.k32.sg2x2');
      expect(space.length).toBeGreaterThanOrEqual(7);
      expect(space.length).toBeLessThanOrEqual(12);
    }
  });
});

for (const { backend, operand } of BACKENDS) {
  describe(`gemm variants, ${backend}`, () => {
    let ctx: GpuContext;
    beforeAll(async () => {
      ctx = await createGpuContext(await nodeAdapter(), { gemm: backend });
    });
    const space = variantSpace(backend, DEFAULT_FRAG, EMULATED_SUBGROUP_SIZE);

    for (const t of space) {
      it(tilingId(t), async () => {
        const forced: GpuContext = { ...ctx, gemm: { ...ctx.gemm, tiling: t } };
        await plainProducts(forced, t, operand);
        await epilogueProduct(forced, operand);
      });
    }
  });
}

async function plainProducts(ctx: GpuContext, t: GemmTiling, operand: (x: ArrayLike<number>) => Float32Array): Promise<void> {
  const [M, N, K] = [t.tileM + 1, t.tileN + 3, 2 * t.kStep + 5];
  const A = randomF32(M * K, M);
  const B = randomF32(N * K, N); // [N, K]: x·Wᵀ
  const want = refMatmul(operand(A), operand(B), M, N, K, { transB: true });
  const S = 2;
  expect(splitK(K, S).slices).toBe(2);
  const c = emptyBuf(ctx, M * N);
  const cs = emptyBuf(ctx, M * N);
  const partial = emptyBuf(ctx, S * M * N);
  const [a, b] = [f32buf(ctx, A), f32buf(ctx, B)];
  const [got, gotSplit] = await run(ctx, (rec) => {
    matmul(rec, c, a, b, M, N, K, { transB: true });
    matmul(rec, cs, a, b, M, N, K, { transB: true, splitK: { slices: S, partial } });
  }, c, cs);
  expectClose(`C ${M}x${N}x${K} ${tilingId(t)}`, got, want, TOL);
  expectClose(`C ${M}x${N}x${K} ${tilingId(t)} split-K ${S}`, gotSplit, want, TOL);
}

async function epilogueProduct(ctx: GpuContext, operand: (x: ArrayLike<number>) => Float32Array): Promise<void> {
  const [M, N, K] = [1, 7, 37];
  const [A, B, C0, bias] = [randomF32(M * K, 5), randomF32(N * K, 6), randomF32(M * N, 7), randomF32(N, 8)];
  const o = { transB: true, alpha: 0.5, beta: 1 }; // transB: the pipeline of the plain products
  const c = f32buf(ctx, C0);
  const [got] = await run(ctx, (rec) => matmul(rec, c, f32buf(ctx, A), f32buf(ctx, B), M, N, K, { ...o, bias: f32buf(ctx, bias) }), c);
  expectClose(`C ${M}x${N}x${K} alpha/bias/beta`, got, refMatmul(operand(A), operand(B), M, N, K, { ...o, C: C0, bias }), TOL);
}
