// shaders/attention_*.wgsl against src/ref/attention.ts, forward and backward: MHA and GQA (groups that
// do and do not divide the 16-row query tile), T = 1, 63, 65, 300 (below, across and over many 32-key and
// 16-key tiles), head_dim 2..256 (each count of 64-wide chunks, partial ones included), sliding windows,
// soft caps, and the generation path (queries at a start position over a longer KV cache).
// These are the f32 kernels, which every back end but the subgroup-matrix ones runs (those run
// src/gpu/attention/, test/attention-mma.test.ts): under QLORA_TEST_GEMM=subgroup-matrix* this file
// takes a `scalar` context of its own.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { createGpuContext } from '../src/gpu/context';
import { nodeAdapter } from '../src/io/node-gpu';
import { attentionFwd, attentionBwd } from '../src/gpu/ops/attention';
import { refAttentionFwd, refAttentionBwd } from '../src/ref/attention';
import { gpu, f32buf, u32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { kvCacheInputs } from './helpers/kv-cache';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
  if (ctx.gemmBackend.startsWith('subgroup-matrix')) ctx = await createGpuContext(await nodeAdapter(), { gemm: 'scalar' });
});

describe('attention', () => {
  // window: a sliding-window layer (keys t - window < j ≤ t); softcap: Gemma's attn_logit_softcapping.
  const cases: [number, number, number, number, number, number, number][] = [
    [1, 1, 1, 1, 2, 0, 0], [2, 5, 4, 2, 16, 0, 0], [1, 70, 2, 1, 8, 0, 0], [1, 9, 3, 3, 80, 0, 0],
    [1, 1, 2, 1, 8, 16, 0], [2, 63, 4, 1, 16, 16, 0], [1, 130, 2, 2, 8, 70, 0], [1, 65, 4, 2, 8, 0, 0.5], [2, 40, 2, 1, 8, 7, 1.5],
    // query tiles: T = 300 over many key tiles, GQA groups of 3, 8 and 16 rows per position, every DCH
    [1, 300, 2, 1, 8, 0, 0], [1, 300, 2, 2, 2, 40, 0], [2, 300, 3, 1, 16, 17, 0.7], [1, 63, 8, 1, 16, 0, 0], [1, 17, 16, 1, 2, 5, 0],
    [1, 65, 6, 2, 80, 33, 0], [2, 63, 2, 1, 80, 0, 1.2], [1, 40, 2, 1, 192, 9, 0], [2, 1, 8, 2, 256, 0, 0],
    [1, 65, 4, 2, 256, 0, 0], [2, 63, 2, 1, 256, 20, 1.5],
  ];
  for (const [B, T, H, Hkv, d, window, softcap] of cases) {
    it(`B=${B} T=${T} H=${H} Hkv=${Hkv} d=${d}${window ? ` window=${window}` : ''}${softcap ? ` softcap=${softcap}` : ''}`, async () => {
      const scale = 1 / Math.sqrt(d);
      const q = randomF32(B * T * H * d, 1 + T);
      const k = randomF32(B * T * Hkv * d, 2 + T);
      const v = randomF32(B * T * Hkv * d, 3 + T);
      const dO = randomF32(B * T * H * d, 4 + T);
      const [qb, kb, vb] = [f32buf(ctx, q), f32buf(ctx, k), f32buf(ctx, v)];
      const o = emptyBuf(ctx, B * T * H * d);
      const lse = emptyBuf(ctx, B * H * T);
      const g = { dq: emptyBuf(ctx, q.length), dk: emptyBuf(ctx, k.length), dv: emptyBuf(ctx, v.length), Dsum: emptyBuf(ctx, B * H * T) };
      const dyn = u32buf(ctx, [0]);
      const [go, glse, gdq, gdk, gdv] = await run(ctx, (rec) => {
        attentionFwd(rec, o, lse, qb, kb, vb, dyn, { B, Tq: T, H, Hkv, d, kvRows: T, scale, window, softcap });
        attentionBwd(rec, g, f32buf(ctx, dO), o, lse, qb, kb, vb, B, T, H, Hkv, d, scale, { window, softcap });
      }, o, lse, g.dq, g.dk, g.dv);
      const dims = { B, T, H, Hkv, d, scale, window, softcap };
      const ref = refAttentionFwd(q, k, v, dims);
      expectClose('o', go, ref.o, { atol: 1e-5, rtol: 1e-5 });
      expectClose('lse', glse, ref.lse, { atol: 1e-5, rtol: 1e-5 });
      const rb = refAttentionBwd(dO, q, k, v, dims);
      expectClose('dq', gdq, rb.dq, { atol: 1e-5, rtol: 1e-4 });
      expectClose('dk', gdk, rb.dk, { atol: 1e-5, rtol: 1e-4 });
      expectClose('dv', gdv, rb.dv, { atol: 1e-5, rtol: 1e-4 });
    });
  }

  it('generation: 3 queries at position 4 over a cache of capacity 10', async () => {
    const [H, Hkv, d, cap, pos0, Tq] = [4, 2, 8, 10, 4, 3];
    const T = pos0 + Tq;
    const q = randomF32(T * H * d, 11);
    const k = randomF32(T * Hkv * d, 12);
    const v = randomF32(T * Hkv * d, 13);
    // cache holds rows 0..T-1 of k/v, then garbage that must never be read
    const kc = new Float32Array(cap * Hkv * d).fill(1e6);
    const vc = new Float32Array(cap * Hkv * d).fill(1e6);
    kc.set(k);
    vc.set(v);
    const qTail = q.subarray(pos0 * H * d);
    const o = emptyBuf(ctx, Tq * H * d);
    const lse = emptyBuf(ctx, H * Tq);
    const [go] = await run(ctx, (rec) => attentionFwd(rec, o, lse, f32buf(ctx, qTail), f32buf(ctx, kc), f32buf(ctx, vc), u32buf(ctx, [pos0]), { B: 1, Tq, H, Hkv, d, kvRows: cap, scale: 0.3 }), o);
    const ref = refAttentionFwd(q, k, v, { B: 1, T, H, Hkv, d, scale: 0.3 });
    expectClose('o (last rows)', go, ref.o.subarray(pos0 * H * d), { atol: 1e-5, rtol: 1e-5 });
  });

  it('generation over a sliding window: 2 queries at position 20 see only the last 6 keys', async () => {
    const [H, Hkv, d, cap, pos0, Tq, window] = [2, 1, 8, 32, 20, 2, 6];
    const T = pos0 + Tq;
    const q = randomF32(T * H * d, 21);
    const k = randomF32(T * Hkv * d, 22);
    const v = randomF32(T * Hkv * d, 23);
    const kc = new Float32Array(cap * Hkv * d).fill(1e6);
    const vc = new Float32Array(cap * Hkv * d).fill(1e6);
    kc.set(k.subarray(0, T * Hkv * d));
    vc.set(v.subarray(0, T * Hkv * d));
    // keys before the window must never be read: poison them
    kc.fill(1e6, 0, (pos0 - window) * Hkv * d);
    const o = emptyBuf(ctx, Tq * H * d);
    const lse = emptyBuf(ctx, H * Tq);
    const [go] = await run(ctx, (rec) => attentionFwd(rec, o, lse, f32buf(ctx, q.subarray(pos0 * H * d)), f32buf(ctx, kc), f32buf(ctx, vc), u32buf(ctx, [pos0]), { B: 1, Tq, H, Hkv, d, kvRows: cap, scale: 0.3, window }), o);
    const ref = refAttentionFwd(q, k, v, { B: 1, T, H, Hkv, d, scale: 0.3, window });
    expectClose('o (last rows)', go, ref.o.subarray(pos0 * H * d), { atol: 1e-5, rtol: 1e-5 });
  });

  // Generation, query-tiled: Tq queries at position pos0 of B sequences over a cache of `cap` rows. Cache
  // rows past pos0 + Tq and before the first row's window are NaN: a kernel that reads them fails.
  const genCases: [number, number, number, number, number, number, number, number, number][] = [
    // B, H, Hkv, d, cap, pos0, Tq, window, softcap
    [1, 4, 1, 16, 80, 70, 1, 0, 0], [2, 8, 2, 80, 96, 65, 1, 16, 0], [1, 2, 2, 8, 64, 30, 20, 0, 0],
    [2, 6, 2, 256, 48, 33, 7, 16, 0.9], [1, 3, 1, 2, 300, 250, 40, 100, 0],
  ];
  for (const [B, H, Hkv, d, cap, pos0, Tq, window, softcap] of genCases) {
    it(`generation: B=${B} H=${H} Hkv=${Hkv} d=${d} ${Tq} queries at ${pos0} over a cache of ${cap}${window ? ` window=${window}` : ''}${softcap ? ` softcap=${softcap}` : ''}`, async () => {
      const T = pos0 + Tq;
      const q = randomF32(B * T * H * d, 31 + d);
      const k = randomF32(B * T * Hkv * d, 32 + d);
      const v = randomF32(B * T * Hkv * d, 33 + d);
      const first = window > 0 ? Math.max(0, pos0 + 1 - window) : 0; // the first key any query sees
      const { kc, vc, qTail } = kvCacheInputs(q, k, v, { B, T, H, Hkv, d }, cap, pos0, first);
      const o = emptyBuf(ctx, B * Tq * H * d);
      const lse = emptyBuf(ctx, B * H * Tq);
      const scale = 1 / Math.sqrt(d);
      const [go, glse] = await run(ctx, (rec) => attentionFwd(rec, o, lse, f32buf(ctx, qTail), f32buf(ctx, kc), f32buf(ctx, vc), u32buf(ctx, [pos0]), { B, Tq, H, Hkv, d, kvRows: cap, scale, window, softcap }), o, lse);
      const ref = refAttentionFwd(q, k, v, { B, T, H, Hkv, d, scale, window, softcap });
      const refO = new Float64Array(B * Tq * H * d);
      const refLse = new Float64Array(B * H * Tq);
      for (let b = 0; b < B; b++) {
        refO.set(ref.o.subarray((b * T + pos0) * H * d, (b + 1) * T * H * d), b * Tq * H * d);
        for (let h = 0; h < H; h++) refLse.set(ref.lse.subarray((b * H + h) * T + pos0, (b * H + h + 1) * T), (b * H + h) * Tq);
      }
      expectClose('o (last rows)', go, refO, { atol: 1e-5, rtol: 1e-5 });
      expectClose('lse (last rows)', glse, refLse, { atol: 1e-5, rtol: 1e-5 });
    });
  }
});
