// shaders/rmsnorm_{fwd,bwd}.wgsl against src/ref/rmsnorm.ts on ragged rows/widths.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { rmsnormFwd, rmsnormBwd } from '../src/gpu/ops/norm';
import { refRmsnormFwd, refRmsnormBwd } from '../src/ref/rmsnorm';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('rmsnorm', () => {
  // wOffset 1 is Gemma's x·(1 + w); beta 1 adds the output to what y holds (Gemma's output norms).
  for (const [rows, D, wOffset, beta] of [[1, 7, 0, 0], [5, 64, 0, 0], [3, 300, 0, 0], [2, 1000, 0, 0], [1, 7, 1, 0], [6, 32, 1, 1], [3, 300, 1, 1]] as const) {
    it(`rows=${rows} D=${D}${wOffset ? ' weight 1 + w' : ''}${beta ? ', added to y' : ''}`, async () => {
      const x = randomF32(rows * D, rows + D, -2, 2);
      const w = randomF32(D, 5, 0.5, 1.5);
      const dy = randomF32(rows * D, 6);
      const resid = randomF32(rows * D, 7);
      const y0 = randomF32(rows * D, 8);
      const y = f32buf(ctx, y0);
      const rstd = emptyBuf(ctx, rows);
      const dx = f32buf(ctx, resid);
      const xb = f32buf(ctx, x);
      const wb = f32buf(ctx, w);
      const [gy, grstd, gdx] = await run(ctx, (rec) => {
        rmsnormFwd(rec, y, rstd, xb, wb, rows, D, 1e-5, { wOffset, beta });
        rmsnormBwd(rec, dx, f32buf(ctx, dy), xb, wb, rstd, rows, D, 1, wOffset);
      }, y, rstd, dx);
      const ref = refRmsnormFwd(x, w, rows, D, 1e-5, wOffset);
      expectClose('y', gy, ref.y.map((v, i) => v + beta * y0[i]), { atol: 1e-5, rtol: 1e-5 });
      expectClose('rstd', grstd, ref.rstd, { atol: 0, rtol: 1e-5 });
      const refDx = refRmsnormBwd(dy, x, w, rows, D, 1e-5, wOffset).map((v, i) => v + resid[i]);
      expectClose('dx', gdx, refDx, { atol: 1e-5, rtol: 1e-5 });
    });
  }
});
