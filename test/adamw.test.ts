// shaders/reduce_sum.wgsl and adamw.wgsl against src/ref/adamw.ts: clipping on and off, 3 steps; and
// the kernel's gate: a step with a non-finite loss sum or gradient leaves p, m, v untouched and latches.
import { describe, it, beforeAll, expect } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { readF32, writeBuffer } from '../src/gpu/context';
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
      const refused = emptyBuf(ctx, 1);
      const scratch = reduceScratch(ctx, n, 'scratch');
      let got: Float32Array[] = [];
      for (let t = 1; t <= 3; t++) {
        const g = randomF32(n, 10 + t, -0.1, 0.1);
        refAdamWStep(ref, g, h);
        writeBuffer(ctx, stepVals, 0, new Float32Array([h.lr, 1 - h.beta1 ** t, 1 - h.beta2 ** t, 0]));
        const gb = f32buf(ctx, g);
        got = await run(ctx, (rec) => {
          reduceSum(rec, sumsq, gb, n, scratch, true);
          adamw(rec, p, gb, m, v, sumsq, stepVals, refused, n, h);
        }, p, m, v);
      }
      expectClose('p', got[0], ref.p, { atol: 1e-7, rtol: 1e-5 });
      expectClose('m', got[1], ref.m, { atol: 1e-8, rtol: 1e-5 });
      expectClose('v', got[2], ref.v, { atol: 1e-10, rtol: 1e-4 });
    });
  }
});

describe('adamw gate', () => {
  const n = 300;
  const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1.0 };

  /** One step with loss sums `losses` over gradients `g`; returns p, m, v and the latch after it. */
  async function step(bufs: { p: GPUBuffer; m: GPUBuffer; v: GPUBuffer; refused: GPUBuffer }, g: Float32Array, losses: number[], t: number) {
    const stepVals = f32buf(ctx, [h.lr, 1 - h.beta1 ** t, 1 - h.beta2 ** t, losses.length, ...losses]);
    const gb = f32buf(ctx, g);
    const sumsq = emptyBuf(ctx, 1);
    const [p, m, v] = await run(ctx, (rec) => {
      reduceSum(rec, sumsq, gb, n, reduceScratch(ctx, n, 'scratch'), true);
      adamw(rec, bufs.p, gb, bufs.m, bufs.v, sumsq, stepVals, bufs.refused, n, h);
    }, bufs.p, bufs.m, bufs.v);
    const latch = new Uint32Array((await readF32(ctx, bufs.refused)).buffer)[0];
    return { p, m, v, latch };
  }

  for (const [what, bad] of [
    ['a NaN loss sum', { loss: NaN, grad: 0 }],
    ['an infinite loss sum', { loss: -Infinity, grad: 0 }],
    ['a NaN gradient (finite loss)', { loss: 3, grad: NaN }],
    ['an infinite gradient', { loss: 3, grad: Infinity }],
  ] as const) {
    it(`refuses ${what}, keeps refusing while latched, applies again once cleared`, async () => {
      const p0 = randomF32(n, 3);
      const bufs = { p: f32buf(ctx, p0), m: emptyBuf(ctx, n), v: emptyBuf(ctx, n), refused: emptyBuf(ctx, 1) };
      const ref = { p: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n), t: 0 };
      const g1 = randomF32(n, 4, -0.1, 0.1);
      refAdamWStep(ref, g1, h);
      const after1 = await step(bufs, g1, [2.5, 1.5], 1);
      expect(after1.latch).toBe(0);

      const g2 = randomF32(n, 5, -0.1, 0.1);
      if (bad.grad !== 0) g2[7] = bad.grad;
      const refused = await step(bufs, g2, [1.0, bad.loss], 2);
      expect(refused.latch).toBe(1);
      for (const k of ['p', 'm', 'v'] as const) expect(Array.from(refused[k]), k).toEqual(Array.from(after1[k]));
      // A finite step queued behind the refused one is skipped too.
      const g3 = randomF32(n, 6, -0.1, 0.1);
      const skipped = await step(bufs, g3, [1.0], 3);
      expect(skipped.latch).toBe(1);
      expect(Array.from(skipped.p)).toEqual(Array.from(after1.p));

      // Cleared, the host's step count restarts at 1 applied update: the next one is t = 2.
      writeBuffer(ctx, bufs.refused, 0, new Uint32Array([0]));
      refAdamWStep(ref, g3, h);
      const applied = await step(bufs, g3, [1.0], 2);
      expect(applied.latch).toBe(0);
      expectClose('p', applied.p, ref.p, { atol: 1e-7, rtol: 1e-5 });
      expectClose('m', applied.m, ref.m, { atol: 1e-8, rtol: 1e-5 });
      expectClose('v', applied.v, ref.v, { atol: 1e-10, rtol: 1e-4 });
    });
  }
});
