// shaders/l2norm_{fwd,bwd}.wgsl against src/ref/l2norm.ts (its gradient against central differences): heads
// inside wider rows (q and k of the conv output), a zero head (eps decides), columns outside the heads untouched.
import { describe, it, beforeAll, expect } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { l2normBwd, l2normFwd } from '../src/gpu/ops/l2norm';
import type { HeadSpan } from '../src/gpu/ops/l2norm';
import { refL2normBwd, refL2normFwd } from '../src/ref/l2norm';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { centralDifferences } from './helpers/finite-diff';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

/** The heads' values [rows·heads, D] out of wide rows, and whatever lies outside them. */
function split(x: ArrayLike<number>, s: HeadSpan): { heads: Float64Array; rest: number[] } {
  const heads = new Float64Array(s.rows * s.heads * s.D);
  const rest: number[] = [];
  for (let r = 0; r < s.rows; r++) {
    for (let c = 0; c < s.stride; c++) {
      const e = c - s.col0;
      if (e >= 0 && e < s.heads * s.D) heads[r * s.heads * s.D + e] = x[r * s.stride + c];
      else rest.push(x[r * s.stride + c]);
    }
  }
  return { heads, rest };
}

describe('l2norm reference', () => {
  it('dx equals central differences', () => {
    const x = Float64Array.from(randomF32(12, 1));
    const dy = randomF32(12, 2);
    const loss = (xx: Float64Array): number => refL2normFwd(xx, 3, 4).reduce((s, v, i) => s + v * dy[i], 0);
    expectClose('dx', refL2normBwd(dy, x, 3, 4), centralDifferences(loss, x), { atol: 1e-8, rtol: 1e-6 });
  });
});

describe('l2norm', () => {
  const spans: HeadSpan[] = [
    { rows: 1, heads: 1, D: 8, stride: 8, col0: 0 },
    { rows: 5, heads: 4, D: 24, stride: 160, col0: 0 }, // tiny-qwen3_5: q and k (2 + 2 heads of 24) in the 160-wide conv output
    { rows: 3, heads: 2, D: 7, stride: 20, col0: 3 },
  ];
  for (const s of spans) {
    it(`rows=${s.rows} heads=${s.heads} D=${s.D} in rows of ${s.stride} from column ${s.col0}`, async () => {
      const x = randomF32(s.rows * s.stride, s.D + s.stride, -2, 2);
      x.fill(0, s.col0, s.col0 + s.D); // a zero head: y = 0, r = 1/sqrt(eps)
      const dy = randomF32(s.rows * s.stride, s.D + 1);
      const xb = f32buf(ctx, x);
      const dyb = f32buf(ctx, dy);
      const rnorm = emptyBuf(ctx, s.rows * s.heads);
      const [gy, gdx, gr] = await run(ctx, (rec) => {
        l2normFwd(rec, xb, rnorm, s);
        l2normBwd(rec, dyb, xb, rnorm, s);
      }, xb, dyb, rnorm);
      const xs = split(x, s);
      const dys = split(dy, s);
      const n = s.rows * s.heads;
      const y = split(gy, s);
      expectClose('y', y.heads, refL2normFwd(xs.heads, n, s.D), { atol: 1e-6, rtol: 1e-5 });
      expect(y.rest, 'columns outside the heads, forward').toEqual(xs.rest);
      expectClose('rnorm', gr.subarray(0, 1), [1 / Math.sqrt(1e-6)], { atol: 0, rtol: 1e-6 });
      const dx = split(gdx, s);
      expectClose('dx', dx.heads, refL2normBwd(dys.heads, xs.heads, n, s.D), { atol: 1e-5, rtol: 1e-5 });
      expect(dx.rest, 'columns outside the heads, backward').toEqual(dys.rest);
    });
  }
});
