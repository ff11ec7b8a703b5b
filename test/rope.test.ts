// shaders/rope.wgsl against src/ref/rope.ts: forward, backward (-θ), a start position (generation).
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { rope } from '../src/gpu/ops/rope';
import { uploadRopeTables } from '../src/engine/rope-table';
import { refRope } from '../src/ref/rope';
import { gpu, f32buf, u32buf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('rope', () => {
  for (const [B, T, heads, d, pos0] of [[1, 1, 1, 2, 0], [2, 7, 3, 16, 0], [1, 5, 2, 64, 40]] as const) {
    it(`B=${B} T=${T} heads=${heads} d=${d} pos0=${pos0}`, async () => {
      const invFreq = Float64Array.from({ length: d / 2 }, (_, i) => Math.fround(1 / 10000 ** ((2 * i) / d)));
      const tables = uploadRopeTables(ctx, invFreq, 64);
      const rows = B * T;
      const x = randomF32(rows * heads * d, d + T);
      const buf = f32buf(ctx, x);
      const dyn = u32buf(ctx, [pos0]);
      const [fwd] = await run(ctx, (rec) => rope(rec, buf, tables, dyn, rows, T, heads, d, 1), buf);
      expectClose('rope fwd', fwd, refRope(x, invFreq, rows, T, heads, d, pos0, 1), { atol: 2e-6, rtol: 1e-5 });
      const [back] = await run(ctx, (rec) => rope(rec, buf, tables, dyn, rows, T, heads, d, -1), buf);
      expectClose('rope bwd undoes fwd', back, x, { atol: 2e-6, rtol: 1e-5 });
    });
  }
});
