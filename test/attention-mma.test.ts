// Attention on tensor cores (src/gpu/attention/), run by its core-WGSL emulation on SwiftShader, against
// src/ref/attention.ts forward and backward: MHA and GQA, causal, sliding windows, soft caps, T = 1, 63,
// 65, 300 (below, across and over many key and row tiles), head_dim 16..32 (padded to 32), the generation
// path (queries at a start position over a longer, poisoned cache); on the hardware where the adapter has it.
// The fair comparison: the reference runs on the f16-rounded q, k, v, dO (the kernels round them so);
// the only rounding the kernels add is of P and dS to f16 (relative 2⁻¹¹ on each term of P·V, dS·K,
// dSᵀ·Q, Pᵀ·dO), so each element may be off by 2⁻¹¹ × the sum of its terms' magnitudes, plus n·2⁻²⁴
// of it for the f32 sums over n terms (refAttentionF16Bounds); lse to f32 level. An indexing bug is
// O(1) off (a swapped pair of P, of dS or of Pᵀ each fails its check: tried when the kernels landed).
// The backward is fed the reference o and lse, so its check does not inherit the forward's error.
import { describe, it, beforeAll, expect } from 'vitest';
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../src/io/node-gpu';
import { createGpuContext } from '../src/gpu/context';
import type { GpuContext, GpuContextOptions } from '../src/gpu/context';
import { attentionFwd, attentionBwd } from '../src/gpu/ops/attention';
import { attentionMmaSource, attentionVariant, chooseAttentionTiles, tileBytes } from '../src/gpu/attention';
import type { AttentionKernel } from '../src/gpu/attention';
import type { MatrixShape } from '../src/gpu/gemm';
import { refAttentionFwd, refAttentionBwd, refAttentionF16Bounds } from '../src/ref/attention';
import type { RefAttnDims } from '../src/ref/attention';
import { f16ToF32, f32ToF16Bits } from '../src/formats/half';
import { f32buf, u32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { kvCacheInputs } from './helpers/kv-cache';

const F32_TOL = { atol: 1e-5, rtol: 1e-5 };
const f16round = (x: ArrayLike<number>) => Float32Array.from(x, (v) => f16ToF32(f32ToF16Bits(v)));

useSoftwareAdapterIfNoDriver();
// Decided when the file is collected (each context takes an adapter of its own: Dawn's are used once).
const probe = await createGpuContext(await nodeAdapter());
const hardwareFrag = probe.features.subgroupMatrix;
probe.device.destroy();

// SwiftShader takes ~7 s to compile each emulated kernel at D = 32 (twice that at 64: the fragments
// unroll), three kernels per padded head_dim and fragment shape: every case pads to D = 32, on 16×16×16.
// The 8×8×8 walk differs only in loop counts: its source is checked below (it passed these cases too).
// B, T, H, Hkv, d, window, softcap
const CASES: [number, number, number, number, number, number, number][] = [
  [1, 1, 2, 1, 16, 0, 0], [2, 63, 4, 2, 32, 0, 0], [1, 65, 2, 1, 32, 0, 0.5], [1, 65, 3, 1, 24, 20, 0],
  [1, 300, 2, 1, 16, 0, 0], [1, 300, 2, 2, 16, 40, 1.2],
];

const BACKENDS: { name: string; opts: GpuContextOptions; skip?: string }[] = [
  { name: 'emulated', opts: { gemm: 'subgroup-matrix-emulated', gemmFrag: { M: 16, N: 16, K: 16 } } },
  {
    name: 'hardware', opts: { gemm: 'subgroup-matrix' },
    skip: hardwareFrag ? undefined : 'the adapter has no chromium-experimental-subgroup-matrix with f16 operands (SwiftShader never does)',
  },
];

for (const be of BACKENDS) {
  describe(`attention on tensor cores (${be.name})`, () => {
    let ctx: GpuContext;
    beforeAll(async () => {
      if (!be.skip) ctx = await createGpuContext(await nodeAdapter(), be.opts);
    });
    if (be.skip) {
      it.skip(`runs (skipped: ${be.skip})`, () => {});
      return;
    }

    it('takes the tensor-core kernels on this adapter', () => {
      expect(ctx.gemmBackend).toBe(be.opts.gemm);
      for (const kernel of ['fwd', 'dq', 'dkv'] as AttentionKernel[]) {
        const t = chooseAttentionTiles(kernel, 32, ctx.gemm.frag, ctx.limits.maxComputeWorkgroupStorageSize);
        expect(t, kernel).not.toBeNull();
        expect(tileBytes(t!, ctx.gemm.frag)).toBeLessThanOrEqual(ctx.limits.maxComputeWorkgroupStorageSize);
      }
    });

    for (const [B, T, H, Hkv, d, window, softcap] of CASES) {
      it(`B=${B} T=${T} H=${H} Hkv=${Hkv} d=${d}${window ? ` window=${window}` : ''}${softcap ? ` softcap=${softcap}` : ''}`, async () => {
        await checkTrainingPass(ctx, { B, T, H, Hkv, d, scale: 1 / Math.sqrt(d), window, softcap });
      });
    }

    it('generation: 20 queries at position 45 over a cache of 80 (window 30, soft cap)', async () => {
      await checkGeneration(ctx);
    });
  });
}

/** Forward, then the backward from the reference's o and lse, against the reference on f16-rounded inputs. */
async function checkTrainingPass(ctx: GpuContext, dims: RefAttnDims): Promise<void> {
  const { B, T, H, Hkv, d, scale, window, softcap } = dims;
  const q = randomF32(B * T * H * d, 1 + T);
  const k = randomF32(B * T * Hkv * d, 2 + T);
  const v = randomF32(B * T * Hkv * d, 3 + T);
  const dO = f16round(randomF32(B * T * H * d, 4 + T));
  const [qr, kr, vr] = [f16round(q), f16round(k), f16round(v)];
  const ref = refAttentionFwd(qr, kr, vr, dims);
  const [qb, kb, vb] = [f32buf(ctx, q), f32buf(ctx, k), f32buf(ctx, v)];
  const o = emptyBuf(ctx, B * T * H * d);
  const lse = emptyBuf(ctx, B * H * T);
  const g = { dq: emptyBuf(ctx, q.length), dk: emptyBuf(ctx, k.length), dv: emptyBuf(ctx, v.length), Dsum: emptyBuf(ctx, B * H * T) };
  const [go, glse, gdq, gdk, gdv] = await run(ctx, (rec) => {
    attentionFwd(rec, o, lse, qb, kb, vb, u32buf(ctx, [0]), { B, Tq: T, H, Hkv, d, kvRows: T, scale, window, softcap });
    attentionBwd(rec, g, f32buf(ctx, dO), f32buf(ctx, ref.o), f32buf(ctx, ref.lse), qb, kb, vb, B, T, H, Hkv, d, scale, { window, softcap });
  }, o, lse, g.dq, g.dk, g.dv);
  const bound = refAttentionF16Bounds(dO, qr, kr, vr, dims);
  expectClose('o', go, ref.o, { ...F32_TOL, bound: bound.o });
  expectClose('lse', glse, ref.lse, F32_TOL);
  const rb = refAttentionBwd(dO, qr, kr, vr, dims);
  expectClose('dq', gdq, rb.dq, { ...F32_TOL, bound: bound.dq });
  expectClose('dk', gdk, rb.dk, { ...F32_TOL, bound: bound.dk });
  expectClose('dv', gdv, rb.dv, { ...F32_TOL, bound: bound.dv });
}

/** The generation path: queries at a start position over a longer cache whose unused rows are NaN. */
async function checkGeneration(ctx: GpuContext): Promise<void> {
  const [B, H, Hkv, d, cap, pos0, Tq, window, softcap] = [2, 4, 2, 32, 80, 45, 20, 30, 0.8];
  const T = pos0 + Tq;
  const q = randomF32(B * T * H * d, 41);
  const k = randomF32(B * T * Hkv * d, 42);
  const v = randomF32(B * T * Hkv * d, 43);
  // rows past the queries and before the first row's window are NaN: a kernel that reads them fails
  const { kc, vc, qTail } = kvCacheInputs(q, k, v, { B, T, H, Hkv, d }, cap, pos0, pos0 + 1 - window);
  const o = emptyBuf(ctx, B * Tq * H * d);
  const lse = emptyBuf(ctx, B * H * Tq);
  const scale = 1 / Math.sqrt(d);
  const [go, glse] = await run(ctx, (rec) => attentionFwd(rec, o, lse, f32buf(ctx, qTail), f32buf(ctx, kc), f32buf(ctx, vc), u32buf(ctx, [pos0]), { B, Tq, H, Hkv, d, kvRows: cap, scale, window, softcap }), o, lse);
  const dims = { B, T, H, Hkv, d, scale, window, softcap };
  const [qr, kr, vr] = [f16round(q), f16round(k), f16round(v)];
  const ref = refAttentionFwd(qr, kr, vr, dims);
  const bound = refAttentionF16Bounds(q, qr, kr, vr, dims); // o's bound only (dO unused)
  const tail = (x: Float64Array, width: number) => {
    const out = new Float64Array(B * Tq * width);
    for (let b = 0; b < B; b++) out.set(x.subarray((b * T + pos0) * width, (b + 1) * T * width), b * Tq * width);
    return out;
  };
  const refLse = new Float64Array(B * H * Tq);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) refLse.set(ref.lse.subarray((b * H + h) * T + pos0, (b * H + h + 1) * T), (b * H + h) * Tq);
  expectClose('o (last rows)', go, tail(ref.o, H * d), { ...F32_TOL, bound: tail(bound.o, H * d) });
  expectClose('lse (last rows)', glse, refLse, F32_TOL);
}

describe('tensor-core attention source', () => {
  const F16 = { M: 16, N: 16, K: 16 };
  const F8 = { M: 8, N: 8, K: 8 };
  // Lines in which the two back ends may differ: declarations and the primitives' expansions.
  const HARDWARE_ONLY = /^fn main\(|subgroupMatrix(Load|MultiplyAccumulate|Store)|subgroup_matrix_|subgroupId|f16\(/;
  const EMULATED_ONLY = /^fn main\(|EmuView|EmuAcc|emuMma|emuStore|emuLane|pack2x16float/;
  const walk = (body: string) => body.slice(body.indexOf('@compute')).split('\n');
  for (const [kernel, frag] of [['fwd', F16], ['dq', F16], ['dkv', F16], ['fwd', F8], ['dq', F8], ['dkv', F8]] as [AttentionKernel, MatrixShape][]) {
    it(`${kernel} ${frag.M}x${frag.N}x${frag.K}: the emulated walk with only the primitives changed`, () => {
      const t = chooseAttentionTiles(kernel, 128, frag, 48 * 1024)!;
      const hw = attentionMmaSource(attentionVariant('subgroup-matrix', frag, 32), t);
      const emu = attentionMmaSource(attentionVariant('subgroup-matrix-emulated', frag, 32), t);
      expect(hw.directives).toContain('enable chromium_experimental_subgroup_matrix;');
      expect(hw.body).toContain('subgroupMatrixMultiplyAccumulate(');
      expect(emu.body).not.toMatch(/subgroupMatrix|subgroup_matrix|enable/);
      // The hardware writes pair p at [2u * p]: a compound p must be parenthesized (the emulation, which
      // writes [p], cannot show it).
      expect(hw.body).toMatch(/(As|Bs)\[2u \* \(/);
      expect(hw.body).not.toMatch(/(As|Bs)\[2u \* [^(]/);
      const [h, e] = [walk(hw.body), walk(emu.body)];
      expect(h.length).toBe(e.length);
      for (const [a, b] of h.map((line, i) => [line, e[i]]).filter(([a, b]) => a !== b)) {
        expect(a, `hardware line outside the primitives: ${a}`).toMatch(HARDWARE_ONLY);
        expect(b, `emulated line outside the primitives: ${b}`).toMatch(EMULATED_ONLY);
      }
    });
  }
});
