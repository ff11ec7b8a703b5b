// shaders/gated_rmsnorm_{fwd,bwd}.wgsl against src/ref/gated-rmsnorm.ts (its gradients against central differences).
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { gatedRmsnormBwd, gatedRmsnormFwd } from '../src/gpu/ops/gated-rmsnorm';
import { refGatedRmsnormBwd, refGatedRmsnormFwd } from '../src/ref/gated-rmsnorm';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { centralDifferences } from './helpers/finite-diff';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('gated rmsnorm reference', () => {
  it('dx and dz equal central differences', () => {
    const [rows, D] = [3, 4];
    const x = Float64Array.from(randomF32(rows * D, 1, -2, 2));
    const z = Float64Array.from(randomF32(rows * D, 2, -3, 3));
    const w = randomF32(D, 3, 0.5, 1.5);
    const dy = randomF32(rows * D, 4);
    const loss = (xx: Float64Array, zz: Float64Array): number => refGatedRmsnormFwd(xx, zz, w, rows, D, 1e-6).y.reduce((s, v, i) => s + v * dy[i], 0);
    const g = refGatedRmsnormBwd(dy, x, z, w, rows, D, 1e-6);
    expectClose('dx', g.dx, centralDifferences((v) => loss(v, z), x), { atol: 1e-8, rtol: 1e-6 });
    expectClose('dz', g.dz, centralDifferences((v) => loss(x, v), z), { atol: 1e-8, rtol: 1e-6 });
  });
});

describe('gated rmsnorm', () => {
  // rows = B·T·Hv, D = dv: one row; tiny-qwen3_5's dv 16 over 3 tokens × 4 heads; a ragged width.
  for (const [rows, D] of [[1, 8], [12, 16], [7, 37]] as const) {
    it(`rows=${rows} D=${D}`, async () => {
      const x = randomF32(rows * D, rows + D, -2, 2);
      const z = randomF32(rows * D, rows + D + 1, -4, 4);
      const w = randomF32(D, D, 0.5, 1.5);
      const dy = randomF32(rows * D, D + 2);
      const [xb, zb, wb] = [f32buf(ctx, x), f32buf(ctx, z), f32buf(ctx, w)];
      const y = emptyBuf(ctx, rows * D);
      const rstd = emptyBuf(ctx, rows);
      const dx = emptyBuf(ctx, rows * D);
      const dz = emptyBuf(ctx, rows * D);
      const [gy, grstd, gdx, gdz] = await run(ctx, (rec) => {
        gatedRmsnormFwd(rec, y, rstd, xb, zb, wb, rows, D, 1e-6);
        gatedRmsnormBwd(rec, dx, dz, f32buf(ctx, dy), xb, zb, wb, rstd, rows, D);
      }, y, rstd, dx, dz);
      const ref = refGatedRmsnormFwd(x, z, w, rows, D, 1e-6);
      expectClose('y', gy, ref.y, { atol: 1e-6, rtol: 1e-5 });
      expectClose('rstd', grstd, ref.rstd, { atol: 0, rtol: 1e-5 });
      const g = refGatedRmsnormBwd(dy, x, z, w, rows, D, 1e-6);
      expectClose('dx', gdx, g.dx, { atol: 1e-5, rtol: 1e-5 });
      expectClose('dz', gdz, g.dz, { atol: 1e-6, rtol: 1e-5 });
    });
  }
});
