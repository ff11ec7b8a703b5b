// shaders/gdn_gates_{fwd,bwd}.wgsl against src/ref/gdn-gates.ts (its gradient against central differences),
// including a + dt_bias above softplus' threshold of 20.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { gdnGatesBwd, gdnGatesFwd } from '../src/gpu/ops/gdn-gates';
import { refGdnGatesBwd, refGdnGatesFwd } from '../src/ref/gdn-gates';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { centralDifferences } from './helpers/finite-diff';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('gated delta net gates', () => {
  it('reference gradients equal central differences', () => {
    const [rows, Hv] = [3, 2];
    const a = Float64Array.from(randomF32(rows * Hv, 1, -3, 3));
    const b = Float64Array.from(randomF32(rows * Hv, 2, -3, 3));
    const aLog = randomF32(Hv, 3, -1, 2);
    const dtBias = randomF32(Hv, 4);
    const dg = randomF32(rows * Hv, 5);
    const dbeta = randomF32(rows * Hv, 6);
    const loss = (aa: Float64Array, bb: Float64Array): number => {
      const { g, beta } = refGdnGatesFwd(aa, bb, aLog, dtBias, rows, Hv);
      return g.reduce((s, v, i) => s + v * dg[i] + beta[i] * dbeta[i], 0);
    };
    const g = refGdnGatesBwd(dg, dbeta, a, b, aLog, dtBias, rows, Hv);
    expectClose('da', g.da, centralDifferences((v) => loss(v, b), a), { atol: 1e-8, rtol: 1e-6 });
    expectClose('db', g.db, centralDifferences((v) => loss(a, v), b), { atol: 1e-8, rtol: 1e-6 });
  });

  for (const [rows, Hv] of [[1, 1], [7, 4], [5, 3]] as const) {
    it(`rows=${rows} Hv=${Hv}`, async () => {
      const a = randomF32(rows * Hv, rows + Hv, -6, 6);
      a[0] = 25; // above softplus' threshold: softplus(u) = u
      if (a.length > 1) a[1] = -40; // softplus(u) ≈ exp(u) ≈ 4e-18: g ≈ 0 (decay 1) either way
      const b = randomF32(rows * Hv, rows + Hv + 1, -6, 6);
      const aLog = randomF32(Hv, Hv, Math.log(0.01), Math.log(16)); // A in transformers' init range
      const dtBias = randomF32(Hv, Hv + 1);
      const dgb = randomF32(2 * rows * Hv, Hv + 2);
      const bufs = [a, b, aLog, dtBias].map((x) => f32buf(ctx, x));
      const gb = emptyBuf(ctx, 2 * rows * Hv);
      const da = emptyBuf(ctx, rows * Hv);
      const db = emptyBuf(ctx, rows * Hv);
      const [ggb, gda, gdb] = await run(ctx, (rec) => {
        gdnGatesFwd(rec, gb, bufs[0], bufs[1], bufs[2], bufs[3], rows, Hv);
        gdnGatesBwd(rec, da, db, f32buf(ctx, dgb), bufs[0], bufs[1], bufs[2], bufs[3], rows, Hv);
      }, gb, da, db);
      const ref = refGdnGatesFwd(a, b, aLog, dtBias, rows, Hv);
      // g's absolute error is the decay's relative error
      expectClose('g', ggb.subarray(0, rows * Hv), ref.g, { atol: 1e-6, rtol: 1e-5 });
      expectClose('beta', ggb.subarray(rows * Hv), ref.beta, { atol: 1e-7, rtol: 1e-6 });
      const g = refGdnGatesBwd(dgb.subarray(0, rows * Hv), dgb.subarray(rows * Hv), a, b, aLog, dtBias, rows, Hv);
      expectClose('da', gda, g.da, { atol: 1e-6, rtol: 1e-5 });
      expectClose('db', gdb, g.db, { atol: 1e-7, rtol: 1e-6 });
    });
  }
});
