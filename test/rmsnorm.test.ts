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
  for (const [rows, D] of [[1, 7], [5, 64], [3, 300], [2, 1000]] as const) {
    it(`rows=${rows} D=${D}`, async () => {
      const x = randomF32(rows * D, rows + D, -2, 2);
      const w = randomF32(D, 5, 0.5, 1.5);
      const dy = randomF32(rows * D, 6);
      const resid = randomF32(rows * D, 7);
      const y = emptyBuf(ctx, rows * D);
      const rstd = emptyBuf(ctx, rows);
      const dx = f32buf(ctx, resid);
      const xb = f32buf(ctx, x);
      const wb = f32buf(ctx, w);
      const [gy, grstd, gdx] = await run(ctx, (rec) => {
        rmsnormFwd(rec, y, rstd, xb, wb, rows, D, 1e-5);
        rmsnormBwd(rec, dx, f32buf(ctx, dy), xb, wb, rstd, rows, D, 1);
      }, y, rstd, dx);
      const ref = refRmsnormFwd(x, w, rows, D, 1e-5);
      expectClose('y', gy, ref.y, { atol: 1e-5, rtol: 1e-5 });
      expectClose('rstd', grstd, ref.rstd, { atol: 0, rtol: 1e-5 });
      const refDx = refRmsnormBwd(dy, x, w, rows, D, 1e-5).map((v, i) => v + resid[i]);
      expectClose('dx', gdx, refDx, { atol: 1e-5, rtol: 1e-5 });
    });
  }
});
