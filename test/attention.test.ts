// shaders/attention_*.wgsl against src/ref/attention.ts: MHA and GQA, T below and above the 64-key chunk,
// head_dim 2..80, and the generation path (queries at a start position over a longer KV cache).
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { attentionFwd, attentionBwd } from '../src/gpu/ops/attention';
import { refAttentionFwd, refAttentionBwd } from '../src/ref/attention';
import { gpu, f32buf, u32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('attention', () => {
  // window: a sliding-window layer (keys t - window < j ≤ t); softcap: Gemma's attn_logit_softcapping.
  const cases: [number, number, number, number, number, number, number][] = [
    [1, 1, 1, 1, 2, 0, 0], [2, 5, 4, 2, 16, 0, 0], [1, 70, 2, 1, 8, 0, 0], [1, 9, 3, 3, 80, 0, 0],
    [1, 1, 2, 1, 8, 16, 0], [2, 63, 4, 1, 16, 16, 0], [1, 130, 2, 2, 8, 70, 0], [1, 65, 4, 2, 8, 0, 0.5], [2, 40, 2, 1, 8, 7, 1.5],
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
});
