// shaders/causal_conv1d_{fwd,bwd,step}.wgsl against src/ref/causal-conv1d.ts; the reference's gradient against
// central differences; generation steps (and a prefill's state followed by steps) equal the whole-sequence forward.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { causalConv1dBwd, causalConv1dFwd, causalConv1dPrefillState, causalConv1dStep } from '../src/gpu/ops/causal-conv1d';
import { refCausalConv1dBwd, refCausalConv1dFwd, refCausalConv1dStep } from '../src/ref/causal-conv1d';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { centralDifferences } from './helpers/finite-diff';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('causal conv1d reference', () => {
  it('dx equals central differences', () => {
    const [B, T, Ch, K] = [2, 5, 3, 4];
    const x = Float64Array.from(randomF32(B * T * Ch, 1, -2, 2));
    const w = randomF32(Ch * K, 2);
    const dy = randomF32(B * T * Ch, 3);
    const loss = (xx: Float64Array): number => refCausalConv1dFwd(xx, w, B, T, Ch, K).reduce((s, v, i) => s + v * dy[i], 0);
    expectClose('dx', refCausalConv1dBwd(dy, x, w, B, T, Ch, K), centralDifferences(loss, x), { atol: 1e-8, rtol: 1e-6 });
  });
});

describe('causal conv1d', () => {
  // [B, T, Ch, K]: one token, T below and at K − 1, ragged channel counts, Qwen3.5's 160 channels.
  for (const [B, T, Ch, K] of [[1, 1, 5, 4], [2, 2, 13, 4], [1, 3, 160, 4], [2, 66, 9, 3], [1, 9, 7, 1]] as const) {
    it(`B=${B} T=${T} Ch=${Ch} K=${K}: forward, backward`, async () => {
      const x = randomF32(B * T * Ch, T + Ch, -2, 2);
      const w = randomF32(Ch * K, K + 1);
      const dy = randomF32(B * T * Ch, T + 2);
      const [xb, wb] = [f32buf(ctx, x), f32buf(ctx, w)];
      const y = emptyBuf(ctx, B * T * Ch);
      const dx = emptyBuf(ctx, B * T * Ch);
      const [gy, gdx] = await run(ctx, (rec) => {
        causalConv1dFwd(rec, y, xb, wb, B, T, Ch, K);
        causalConv1dBwd(rec, dx, f32buf(ctx, dy), xb, wb, B, T, Ch, K);
      }, y, dx);
      expectClose('y', gy, refCausalConv1dFwd(x, w, B, T, Ch, K), { atol: 1e-6, rtol: 1e-5 });
      expectClose('dx', gdx, refCausalConv1dBwd(dy, x, w, B, T, Ch, K), { atol: 1e-6, rtol: 1e-5 });
    });
  }

  for (const [B, T, prefill, Ch, K] of [[1, 5, 0, 6, 4], [2, 6, 2, 5, 4], [2, 7, 4, 3, 4], [1, 3, 1, 4, 2]] as const) {
    it(`B=${B}: prefill of ${prefill} tokens, then ${T - prefill} steps equal the forward over ${T} (Ch=${Ch} K=${K})`, async () => {
      const x = randomF32(B * T * Ch, T + Ch + K, -2, 2);
      const w = randomF32(Ch * K, K + 2);
      const wb = f32buf(ctx, w);
      const full = refCausalConv1dFwd(x, w, B, T, Ch, K);
      // the prefill's input [B, prefill, Ch], and each later token [B, Ch]
      const rows = (t0: number, n: number): Float32Array => {
        const out = new Float32Array(B * n * Ch);
        for (let b = 0; b < B; b++) out.set(x.subarray((b * T + t0) * Ch, (b * T + t0 + n) * Ch), b * n * Ch);
        return out;
      };
      const state = f32buf(ctx, new Float32Array(B * (K - 1) * Ch).fill(3)); // stale values the prefill must overwrite
      const ys = Array.from({ length: T - prefill }, () => emptyBuf(ctx, B * Ch));
      let refState: Float64Array = new Float64Array(B * (K - 1) * Ch);
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < K - 1; k++) {
          const t = prefill - (K - 1) + k;
          for (let c = 0; c < Ch; c++) refState[(b * (K - 1) + k) * Ch + c] = t >= 0 ? x[(b * T + t) * Ch + c] : 0;
        }
      }
      const outs = await run(ctx, (rec) => {
        if (prefill > 0) causalConv1dPrefillState(rec, state, f32buf(ctx, rows(0, prefill)), B, prefill, Ch, K);
        else rec.clear(state);
        for (let t = prefill; t < T; t++) causalConv1dStep(rec, ys[t - prefill], state, f32buf(ctx, rows(t, 1)), wb, B, Ch, K);
      }, state, ...ys);
      for (let t = prefill; t < T; t++) {
        const step = refCausalConv1dStep(refState, rows(t, 1), w, B, Ch, K);
        refState = step.state;
        expectClose(`step ${t} vs step reference`, outs[1 + t - prefill], step.y, { atol: 1e-6, rtol: 1e-5 });
        expectClose(`step ${t} vs forward`, outs[1 + t - prefill], rows(t, 1).map((_, i) => full[(Math.floor(i / Ch) * T + t) * Ch + (i % Ch)]), { atol: 1e-6, rtol: 1e-5 });
      }
      expectClose('state after the steps', outs[0], refState, { atol: 0, rtol: 0 });
    });
  }
});
