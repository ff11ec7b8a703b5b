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

// Partial RoPE (Qwen3.5: partial_rotary_factor 0.25 of head_dim 32 turns 8 dims): the first rotaryDim dims of
// each head rotate with rotaryDim/2 frequencies, the rest pass through; q and k in one dispatch.
describe('partial rope', () => {
  for (const [B, T, heads, heads2, d, rot, pos0] of [[1, 1, 1, 0, 4, 2, 0], [2, 5, 4, 2, 32, 8, 0], [1, 6, 3, 1, 24, 16, 9]] as const) {
    it(`B=${B} T=${T} heads=${heads}+${heads2} d=${d} rotary ${rot} pos0=${pos0}`, async () => {
      const invFreq = Float64Array.from({ length: rot / 2 }, (_, i) => Math.fround(1 / 1e7 ** ((2 * i) / rot)));
      const tables = uploadRopeTables(ctx, invFreq, 64);
      const rows = B * T;
      const q = randomF32(rows * heads * d, d + rot);
      const k = randomF32(rows * Math.max(heads2, 1) * d, d + rot + 1);
      const [qb, kb] = [q, k].map((x) => f32buf(ctx, x));
      const dyn = u32buf(ctx, [pos0]);
      const second = heads2 ? { x: kb, heads: heads2 } : undefined;
      const [gq, gk] = await run(ctx, (rec) => rope(rec, qb, tables, dyn, rows, T, heads, d, 1, second, rot), qb, kb);
      expectClose('q', gq, refRope(q, invFreq, rows, T, heads, d, pos0, 1, rot), { atol: 2e-6, rtol: 1e-5 });
      if (heads2) expectClose('k', gk, refRope(k, invFreq, rows, T, heads2, d, pos0, 1, rot), { atol: 2e-6, rtol: 1e-5 });
      const [bq] = await run(ctx, (rec) => rope(rec, qb, tables, dyn, rows, T, heads, d, -1, second, rot), qb);
      expectClose('bwd undoes fwd', bq, q, { atol: 2e-6, rtol: 1e-5 });
    });
  }
});

// q and k turned in one dispatch (GQA: fewer k heads): bit for bit what one dispatch per tensor gives
// (the same f32 arithmetic; that one is checked against the reference above).
describe('rope of two tensors in one dispatch', () => {
  for (const [B, T, heads, heads2, d, pos0] of [[1, 1, 1, 1, 2, 0], [2, 7, 4, 1, 16, 0], [1, 5, 3, 2, 64, 40]] as const) {
    it(`B=${B} T=${T} heads=${heads}+${heads2} d=${d} pos0=${pos0}`, async () => {
      const invFreq = Float64Array.from({ length: d / 2 }, (_, i) => Math.fround(1 / 10000 ** ((2 * i) / d)));
      const tables = uploadRopeTables(ctx, invFreq, 64);
      const rows = B * T;
      const q = randomF32(rows * heads * d, d + T);
      const k = randomF32(rows * heads2 * d, d + T + 1);
      const dyn = u32buf(ctx, [pos0]);
      for (const sign of [1, -1] as const) {
        const [qb, kb, qs, ks] = [q, k, q, k].map((x) => f32buf(ctx, x));
        const [gq, gk, wq, wk] = await run(ctx, (rec) => {
          rope(rec, qb, tables, dyn, rows, T, heads, d, sign, { x: kb, heads: heads2 });
          rope(rec, qs, tables, dyn, rows, T, heads, d, sign);
          rope(rec, ks, tables, dyn, rows, T, heads2, d, sign);
        }, qb, kb, qs, ks);
        expectClose(`q sign ${sign}`, gq, wq, { atol: 0, rtol: 0 });
        expectClose(`k sign ${sign}`, gk, wk, { atol: 0, rtol: 0 });
      }
    });
  }
});
