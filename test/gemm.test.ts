// The matrix-product generator (src/gpu/gemm/): every back end that runs here, at every tile it ships,
// against src/ref/matmul.ts on ragged shapes — M = 1, K and N multiples of no tile, LoRA ranks 1 and 16,
// all transposes, alpha/bias/beta, an NF4 weight, a dropout operand, a fused NF4 + LoRA linear.
//   scalar                    at f32 tolerance against the f64 reference on the operands as given;
//   subgroup-matrix-emulated  against the reference on f16-rounded operands at the same f32-level
//                             tolerance (a product of two f16 is exact in f32, so only the f32 sum rounds):
//                             an indexing bug in the tile walk shows as an O(1) error, not hidden in f16 noise;
//   subgroup-matrix           generated for the adapter's fragment shape and checked to be the emulated
//                             source with only the primitives changed; run where the adapter has it.
import { describe, it, beforeAll, expect } from 'vitest';
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../src/io/node-gpu';
import { createGpuContext } from '../src/gpu/context';
import type { GpuContext, GpuContextOptions } from '../src/gpu/context';
import { matmul, linearFwd, linearBwd } from '../src/gpu/ops/matmul';
import { loraLinearFwd, loraLinearBwd } from '../src/gpu/ops/lora-fused';
import { gemmSource, tilingId, variantSpace } from '../src/gpu/gemm';
import type { GemmTiling, GemmVariant, MatrixShape } from '../src/gpu/gemm';
import { uploadWeight } from '../src/gpu/weight';
import { refMatmul, refLinearFwd, refLinearBwd } from '../src/ref/matmul';
import { refDropout } from '../src/ref/activation';
import { f16ToF32, f32ToF16Bits } from '../src/formats/half';
import { quantizeNf4, dequantizeNf4 } from '../src/quant/nf4';
import { f32buf, u32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

useSoftwareAdapterIfNoDriver();
// Decided when the file is collected (each context takes an adapter of its own: Dawn's are used once).
const probe = await createGpuContext(await nodeAdapter());
const hardwareFrag = probe.features.subgroupMatrix;
probe.device.destroy();

const f16round = (x: ArrayLike<number>) => Float32Array.from(x, (v) => f16ToF32(f32ToF16Bits(v)));
const same = (x: ArrayLike<number>) => Float32Array.from(x);
const F32_TOL = { atol: 1e-5, rtol: 1e-5 };
const LINEAR_TOL = { atol: 2e-5, rtol: 1e-5 };

interface Case {
  name: string;
  opts: GpuContextOptions;
  /** What the back end does to an operand before multiplying (the reference gets the same). */
  operand: (x: ArrayLike<number>) => Float32Array;
  tol: { atol: number; rtol: number };
  linearTol: { atol: number; rtol: number };
  skip?: string;
}

const CASES: Case[] = [
  { name: 'scalar t64', opts: { gemm: 'scalar', gemmTile: 64 }, operand: same, tol: F32_TOL, linearTol: LINEAR_TOL },
  { name: 'scalar t128', opts: { gemm: 'scalar', gemmTile: 128 }, operand: same, tol: F32_TOL, linearTol: LINEAR_TOL },
  { name: 'emulated t64 16x16x16', opts: { gemm: 'subgroup-matrix-emulated', gemmTile: 64, gemmFrag: { M: 16, N: 16, K: 16 } }, operand: f16round, tol: F32_TOL, linearTol: LINEAR_TOL },
  { name: 'emulated t128 16x16x16', opts: { gemm: 'subgroup-matrix-emulated', gemmTile: 128, gemmFrag: { M: 16, N: 16, K: 16 } }, operand: f16round, tol: F32_TOL, linearTol: LINEAR_TOL },
  { name: 'emulated t64 8x8x8', opts: { gemm: 'subgroup-matrix-emulated', gemmTile: 64, gemmFrag: { M: 8, N: 8, K: 8 } }, operand: f16round, tol: F32_TOL, linearTol: LINEAR_TOL },
  // The tensor cores accumulate in an order of their own: f32-level, but not the emulation's order.
  ...([64, 128] as const).map((tile): Case => ({
    name: `subgroup-matrix (hardware) t${tile}`, opts: { gemm: 'subgroup-matrix', gemmTile: tile }, operand: f16round,
    tol: { atol: 1e-4, rtol: 1e-4 }, linearTol: { atol: 1e-4, rtol: 1e-4 },
    skip: hardwareFrag ? undefined : 'the adapter has no chromium-experimental-subgroup-matrix with f16 operands (SwiftShader never does)',
  })),
];

// [M, N, K]: M = 1; N = 1 (a rank-1 down-projection); K = 1 (a rank-1 up-projection); N = 16, K = 16
// (rank 16); nothing a multiple of 32, 64 or 128.
const SHAPES: [number, number, number][] = [[1, 5, 37], [3, 1, 16], [9, 33, 1], [70, 16, 16], [130, 67, 45]];

for (const c of CASES) {
  describe(`gemm ${c.name}`, () => {
    let ctx: GpuContext;
    beforeAll(async () => {
      if (!c.skip) ctx = await createGpuContext(await nodeAdapter(), c.opts);
    });
    if (c.skip) {
      it.skip(`runs (skipped: ${c.skip})`, () => {});
      return;
    }

    it('is the back end asked for', () => {
      expect(ctx.gemmBackend).toBe(c.opts.gemm);
    });

    for (const [M, N, K] of SHAPES) {
      it(`dense M=${M} N=${N} K=${K}, all transposes, alpha/bias/beta`, async () => {
        for (const transA of [false, true]) for (const transB of [false, true]) {
          const A = randomF32(M * K, 1 + M);
          const B = randomF32(K * N, 2 + N);
          const C0 = randomF32(M * N, 3);
          const bias = randomF32(N, 4);
          const cb = f32buf(ctx, C0);
          const o = { transA, transB, alpha: 0.5, beta: 1 };
          const [got] = await run(ctx, (rec) => matmul(rec, cb, f32buf(ctx, A), f32buf(ctx, B), M, N, K, { ...o, bias: f32buf(ctx, bias) }), cb);
          const want = refMatmul(c.operand(A), c.operand(B), M, N, K, { ...o, C: C0, bias });
          expectClose(`C ${M}x${N}x${K} tA=${transA} tB=${transB}`, got, want, c.tol);
        }
      });
    }

    it('NF4 linear forward (bias) and backward, M=33 out=70 in=64', async () => {
      const [M, N, K] = [33, 70, 64];
      const q = quantizeNf4(randomF32(N * K, 7, -0.5, 0.5), [N, K]);
      const W = dequantizeNf4(q);
      const w = uploadWeight(ctx, { format: 'nf4', rows: N, cols: K, data: q }, 'W');
      const x = randomF32(M * K, 8);
      const dy = randomF32(M * N, 9);
      const bias = randomF32(N, 10);
      const [y, dx] = [emptyBuf(ctx, M * N), emptyBuf(ctx, M * K)];
      const [gy, gdx] = await run(ctx, (rec) => {
        linearFwd(rec, y, f32buf(ctx, x), w, M, { bias: f32buf(ctx, bias) });
        linearBwd(rec, dx, f32buf(ctx, dy), w, M);
      }, y, dx);
      expectClose('y', gy, refLinearFwd(c.operand(x), c.operand(W), M, N, K, bias), c.linearTol);
      expectClose('dx', gdx, refLinearBwd(c.operand(dy), c.operand(W), M, N, K), c.linearTol);
    });

    // The fused operands extend K by the rank: y = [x | h]·[W | s·B]ᵀ, dx = [dy | dh]·[W ; A]. The
    // reference is that one product, so the emulated back end's f16 rounding applies to s·B as loaded.
    it('fused NF4 + LoRA linear forward and backward, M=33 out=70 in=20 r=16 (column block 1 of 2)', async () => {
      const [M, N, K, r, G, g, s] = [33, 70, 20, 16, 2, 1, 1.75];
      const q = quantizeNf4(randomF32(N * K, 13, -0.5, 0.5), [N, K]);
      const W = dequantizeNf4(q);
      const w = uploadWeight(ctx, { format: 'nf4', rows: N, cols: K, data: q }, 'W');
      const [x, h, B, A] = [randomF32(M * K, 14), randomF32(M * G * r, 15), randomF32(N * r, 16), randomF32(r * K, 17)];
      const [dy, dh, y0, dx0, bias] = [randomF32(M * N, 18), randomF32(M * G * r, 19), randomF32(M * N, 20), randomF32(M * K, 21), randomF32(N, 22)];
      const [y, dx] = [f32buf(ctx, y0), f32buf(ctx, dx0)];
      const [gy, gdx] = await run(ctx, (rec) => {
        loraLinearFwd(rec, y, f32buf(ctx, x), w, M, { buffer: f32buf(ctx, h), ld: G * r, col: g * r }, f32buf(ctx, B), r, s, { bias: f32buf(ctx, bias), beta: 1 });
        loraLinearBwd(rec, dx, f32buf(ctx, dy), w, M, { buffer: f32buf(ctx, dh), ld: G * r, col: g * r }, f32buf(ctx, A), r, { beta: 1 });
      }, y, dx);
      const xh = new Float32Array(M * (K + r));
      const dyh = new Float32Array(M * (N + r));
      for (let m = 0; m < M; m++) {
        for (let k = 0; k < K + r; k++) xh[m * (K + r) + k] = k < K ? x[m * K + k] : h[m * G * r + g * r + k - K];
        for (let k = 0; k < N + r; k++) dyh[m * (N + r) + k] = k < N ? dy[m * N + k] : dh[m * G * r + g * r + k - N];
      }
      const wsb = new Float32Array(N * (K + r)); // [W | s·B], as loadB gives it (s·B rounded to f32)
      for (let n = 0; n < N; n++) for (let k = 0; k < K + r; k++) wsb[n * (K + r) + k] = k < K ? W[n * K + k] : Math.fround(s * B[n * r + k - K]);
      const wa = Float32Array.from([...W, ...A]); // [W ; A], [N + r, K]
      expectClose('y', gy, refMatmul(c.operand(xh), c.operand(wsb), M, N, K + r, { transB: true, bias, beta: 1, C: y0 }), c.linearTol);
      expectClose('dx', gdx, refMatmul(c.operand(dyh), c.operand(wa), M, K, N + r, { beta: 1, C: dx0 }), c.linearTol);
    });

    it('dropout operand: h = dropout(x)·Aᵀ, M=5 N=16 K=37', async () => {
      const [M, N, K, p, stream, seed] = [5, 16, 37, 0.25, 11, 777];
      const x = randomF32(M * K, 11);
      const a = randomF32(N * K, 12);
      const h = emptyBuf(ctx, M * N);
      const [gh] = await run(ctx, (rec) =>
        matmul(rec, h, f32buf(ctx, x), f32buf(ctx, a), M, N, K, { transB: true, dropout: { operand: 'A', p, stream, seed: u32buf(ctx, [seed]) } }), h);
      expectClose('h', gh, refMatmul(c.operand(refDropout(x, seed, stream, p)), c.operand(a), M, N, K, { transB: true }), c.tol);
    });
  });
}

describe('subgroup-matrix source', () => {
  const variant = (backend: GemmVariant['backend'], frag: MatrixShape, t: GemmTiling): GemmVariant => ({ ...t, backend, frag, subgroupSize: 32 });

  // Lines in which the two back ends may differ: declarations and the primitives' expansions.
  const walk = (body: string) => body.slice(body.indexOf('@compute')).split('\n').filter((l) => !/^fn main\(|subgroupId|sg = /.test(l));

  for (const frag of [{ M: 16, N: 16, K: 16 }, { M: 8, N: 8, K: 8 }]) {
    // Every tiling of the sweep's space (the variants test runs them emulated; here, the hardware twin).
    for (const t of variantSpace('subgroup-matrix', frag, 32)) {
      it(`${frag.M}x${frag.N}x${frag.K} ${tilingId(t)}: the emulated walk with only the primitives changed`, () => {
        const hw = gemmSource(variant('subgroup-matrix', frag, t));
        const emu = gemmSource(variant('subgroup-matrix-emulated', frag, t));
        expect(hw.directives).toContain('enable chromium_experimental_subgroup_matrix;');
        expect(hw.directives).toContain('enable f16;');
        expect(hw.directives).toContain('diagnostic(off, chromium.subgroup_matrix_uniformity);');
        expect(emu.directives).toBe('');
        // Majorness as a template parameter: the bool argument form is deprecated in Dawn.
        expect(hw.body).toContain(`subgroupMatrixLoad<subgroup_matrix_left<f16, ${frag.K}, ${frag.M}>, row_major>(&As,`);
        expect(hw.body).toContain(`subgroupMatrixLoad<subgroup_matrix_right<f16, ${frag.N}, ${frag.K}>, col_major>(&Bs,`);
        expect(hw.body).not.toMatch(/subgroupMatrix(Load|Store)[^;]*, (true|false),/);
        const accs = (t.tileM / t.sgM / frag.M) * (t.tileN / t.sgN / frag.N);
        expect(hw.body.match(/var acc\d+_\d+: subgroup_matrix_result<f32, \d+, \d+>;/g)).toHaveLength(accs);
        expect(hw.body).toContain('subgroupMatrixMultiplyAccumulate(left0, right, acc0_0)');
        expect(hw.body).toContain('subgroupMatrixStore<row_major>(&Cs,');
        expect(hw.body).toContain('subgroupMatrixStore<row_major>(&C,'); // interior tiles, straight to C
        // No function-scope array is indexed by a loop counter in the k walk: the hot loop sees named values only.
        const kLoop = hw.body.slice(hw.body.indexOf('for (var k0'), hw.body.indexOf('var out'));
        expect(kLoop).not.toMatch(/\w\[(i|j|kk)\]/);
        // A whole interior tile reads without the per-element edge tests; only the else branch has them.
        const interior = kLoop.slice(kLoop.indexOf('if (full) {'), kLoop.indexOf('} else {'));
        expect(interior).toContain('loadA(');
        expect(interior).not.toMatch(/loadAZ|loadBZ/);
        const threads = t.sgM * t.sgN * 32;
        expect(hw.body).toContain(`@workgroup_size(${threads})`);
        expect(emu.body).toContain(`@workgroup_size(${threads})`);
        expect(emu.body).not.toMatch(/subgroup|enable/);
        // The emulation runs the same tile loads, offsets and epilogue; its multiply is the same products as
        // loops (SwiftShader inlines every call site of its emuMma): only the multiply and tile writes differ.
        const outsideMultiply = (body: string) => walk(body).filter((l) => !/left|right|acc\d|emuMma|subgroupMatrix|out\[|var out|^\s*\}?\s*$|for \(var (kk|i|j) |The accumulators leave|As\[|Bs\[|\bp[ab](\d|\[|:)/.test(l));
        expect(outsideMultiply(hw.body)).toEqual(outsideMultiply(emu.body).filter((l) => !/emuLane|EmuAcc|EmuView/.test(l)));
        // Everything before the entry point apart from the declarations is shared too (params, loads, epilogue).
        const pre = (body: string) => body.slice(0, body.indexOf('const TK'));
        expect(pre(hw.body)).toBe(pre(emu.body));
      });
    }
  }

  it('the adapter reports a fragment shape for the hardware back end, or none', () => {
    if (hardwareFrag) expect(hardwareFrag.M * hardwareFrag.N * hardwareFrag.K).toBeGreaterThan(0);
    else expect(hardwareFrag).toBeNull();
  });
});
