// shaders/cross_entropy.wgsl against src/ref/cross-entropy.ts: ignored targets, V not a multiple of 256.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { crossEntropy } from '../src/gpu/ops/loss';
import { refCrossEntropy } from '../src/ref/cross-entropy';
import { refLogitSoftcap } from '../src/ref/activation';
import { logitSoftcap } from '../src/gpu/ops/activation';
import { gpu, f32buf, i32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('cross_entropy', () => {
  for (const [rows, V] of [[1, 3], [6, 300], [4, 1000]] as const) {
    it(`rows=${rows} V=${V}`, async () => {
      const logits = randomF32(rows * V, V, -8, 8);
      const targets = Array.from({ length: rows }, (_, r) => (r % 3 === 1 ? -100 : (r * 37) % V));
      if (targets.every((t) => t < 0)) targets[0] = 0;
      const ref = refCrossEntropy(logits, targets, rows, V);
      const lb = f32buf(ctx, logits);
      const loss = emptyBuf(ctx, rows);
      const [gl, gg] = await run(ctx, (rec) => crossEntropy(rec, loss, lb, i32buf(ctx, targets), f32buf(ctx, [1 / ref.count]), rows, V, true), loss, lb);
      expectClose('loss per row', gl, ref.perRow, { atol: 1e-5, rtol: 1e-5 });
      expectClose('dlogits', gg, ref.dlogits, { atol: 1e-7, rtol: 1e-5 });
    });
  }

  it('with final logit soft-capping (cap 3): the capped logits, the loss of them, the gradient of the raw ones', async () => {
    const [rows, V, cap] = [5, 300, 3];
    const logits = randomF32(rows * V, 17, -20, 20);
    const targets = [7, -100, 299, 0, 150];
    const ref = refCrossEntropy(logits, targets, rows, V, cap);
    const lb = f32buf(ctx, logits);
    const capped = f32buf(ctx, logits);
    const loss = emptyBuf(ctx, rows);
    const [gc, gl, gg] = await run(ctx, (rec) => {
      logitSoftcap(rec, capped, rows * V, cap);
      logitSoftcap(rec, lb, rows * V, cap);
      crossEntropy(rec, loss, lb, i32buf(ctx, targets), f32buf(ctx, [1 / ref.count]), rows, V, true, cap);
    }, capped, loss, lb);
    expectClose('capped logits', gc, refLogitSoftcap(logits, cap), { atol: 1e-6, rtol: 1e-6 });
    expectClose('loss per row', gl, ref.perRow, { atol: 1e-5, rtol: 1e-5 });
    expectClose('dlogits (raw)', gg, ref.dlogits, { atol: 1e-7, rtol: 1e-5 });
  });
});
