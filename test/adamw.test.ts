// shaders/reduce_sum.wgsl and adamw.wgsl against src/ref/adamw.ts: clipping on and off, 3 steps.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { writeBuffer } from '../src/gpu/context';
import { adamw, reduceSum, reduceScratch } from '../src/gpu/ops/optimizer';
import { refAdamWStep, refGradNorm } from '../src/ref/adamw';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('reduce_sum', () => {
  for (const n of [1, 300, 70000]) {
    it(`n=${n}`, async () => {
      const x = randomF32(n, n);
      const out = emptyBuf(ctx, 1);
      const out2 = emptyBuf(ctx, 1);
      const xb = f32buf(ctx, x);
      const [s, sq] = await run(ctx, (rec) => {
        reduceSum(rec, out, xb, n, reduceScratch(ctx, n, 's'), false);
        reduceSum(rec, out2, xb, n, reduceScratch(ctx, n, 's2'), true);
      }, out, out2);
      expectClose('sum', s, [x.reduce((a, b) => a + b, 0)], { atol: 1e-4, rtol: 1e-5 });
      expectClose('sumsq', sq, [refGradNorm(x) ** 2], { atol: 1e-4, rtol: 1e-5 });
    });
  }
});

describe('adamw', () => {
  for (const maxGradNorm of [0, 1.0, 100]) {
    it(`3 steps, maxGradNorm=${maxGradNorm}`, async () => {
      const n = 1000;
      const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm };
      const p0 = randomF32(n, 1);
      const ref = { p: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n), t: 0 };
      const [p, m, v] = [f32buf(ctx, p0), emptyBuf(ctx, n), emptyBuf(ctx, n)];
      const sumsq = emptyBuf(ctx, 1);
      const stepVals = emptyBuf(ctx, 4);
      const scratch = reduceScratch(ctx, n, 'scratch');
      let got: Float32Array[] = [];
      for (let t = 1; t <= 3; t++) {
        const g = randomF32(n, 10 + t, -0.1, 0.1);
        refAdamWStep(ref, g, h);
        writeBuffer(ctx, stepVals, 0, new Float32Array([h.lr, 1 - h.beta1 ** t, 1 - h.beta2 ** t, 0]));
        const gb = f32buf(ctx, g);
        got = await run(ctx, (rec) => {
          reduceSum(rec, sumsq, gb, n, scratch, true);
          adamw(rec, p, gb, m, v, sumsq, stepVals, n, h);
        }, p, m, v);
      }
      expectClose('p', got[0], ref.p, { atol: 1e-7, rtol: 1e-5 });
      expectClose('m', got[1], ref.m, { atol: 1e-8, rtol: 1e-5 });
      expectClose('v', got[2], ref.v, { atol: 1e-10, rtol: 1e-4 });
    });
  }
});
