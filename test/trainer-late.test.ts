// The training step reads nothing back: Trainer.queueStep maps no buffer (gpu/context.ts counts every
// map), the loss arrives through settle one step late, and a NaN step is still refused on the GPU with
// the NUMERIC error naming it, the adapter and AdamW state as before it, and the step count not
// advanced (training on after the fix gives exactly the run that never failed).
import { describe, it, beforeAll, expect } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { readbackCounter, writeBuffer } from '../src/gpu/context';
import { createGpuLora, destroyGpuLora, readLoraParams, readOptimizerState } from '../src/engine/gpu-lora';
import { Trainer } from '../src/engine/trainer';
import { loraLayout, initLoraParams } from '../src/engine/lora';
import { DEFAULT_OPTIMIZER } from '../src/engine/optimizer';
import { gpu } from './helpers/gpu';
import { loadGolden } from './helpers/golden';
import type { LoadedGolden } from './helpers/golden';

let ctx: GpuContext;
let g: LoadedGolden;
beforeAll(async () => {
  ctx = await gpu();
  g = await loadGolden(ctx, { model: 'tiny-llama', kind: 'qlora', checkpoint: 'float' });
});

function trainer() {
  const layout = loraLayout(g.files.config, { r: 2, alpha: 4, dropout: 0.1, targets: ['q_proj', 'v_proj'], rslora: false });
  const lora = createGpuLora(ctx, layout, initLoraParams(layout, 3));
  const t = new Trainer(ctx, g.weights, lora, { lr: 1e-2, scheduler: 'constant', warmupSteps: 0, totalSteps: 3, seed: 1, gradientCheckpointing: false, optimizer: DEFAULT_OPTIMIZER });
  return { t, lora };
}

/** queueStep, asserting it mapped nothing. */
async function queue(t: Trainer): Promise<void> {
  const before = readbackCounter.maps;
  await t.queueStep([g.batch]);
  expect(readbackCounter.maps - before, 'GPU→CPU maps inside a step').toBe(0);
}

describe('Trainer without readbacks inside a step', () => {
  it('queues steps without maps, reads them late, refuses a NaN step and trains on exactly', async () => {
    const clean = trainer();
    await queue(clean.t);
    await queue(clean.t);
    expect(clean.t.queuedSteps).toBe(2);
    const late = await clean.t.settle(1); // step 1 while step 2 is still queued
    expect(late.map((r) => r.step)).toEqual([1]);
    const rest = await clean.t.settle();
    expect(rest.map((r) => r.step)).toEqual([2]);
    for (const r of [...late, ...rest]) {
      expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm) && r.gradNorm > 0).toBe(true);
    }
    const want = await readLoraParams(ctx, clean.lora);
    clean.t.destroy();
    destroyGpuLora(ctx, clean.lora);

    const { t, lora } = trainer();
    await queue(t);
    await t.settle();
    const before = await readLoraParams(ctx, lora);
    const optBefore = await readOptimizerState(ctx, lora);
    const kept = before[0];
    writeBuffer(ctx, lora.params, 0, new Float32Array([NaN])); // the next loss is NaN
    before[0] = NaN;
    await queue(t); // step 2: refused on the GPU
    await queue(t); // step 3, queued behind it: skipped
    const e = await t.settle().catch((err) => err);
    expect(e.code).toBe('NUMERIC');
    expect(e.message).toMatch(/loss became NaN at step 2; the update was not applied/);
    expect(t.step).toBe(1);
    expect(t.queuedSteps).toBe(0);
    expect(Array.from(await readLoraParams(ctx, lora))).toEqual(Array.from(before));
    const optAfter = await readOptimizerState(ctx, lora);
    expect(Array.from(optAfter.m)).toEqual(Array.from(optBefore.m));
    expect(Array.from(optAfter.v)).toEqual(Array.from(optBefore.v));

    writeBuffer(ctx, lora.params, 0, new Float32Array([kept]));
    await queue(t);
    expect((await t.settle()).map((r) => r.step)).toEqual([2]);
    expect(Array.from(await readLoraParams(ctx, lora))).toEqual(Array.from(want));
    t.destroy();
    destroyGpuLora(ctx, lora);
  });
});

describe('gradient accumulation', () => {
  it("step 1's loss counts every micro-batch (the optimizer grows its loss slots without losing the first)", async () => {
    const { t, lora } = trainer();
    const before = await t.evaluate([g.batch]); // dropout off: the same loss a dropout-0 step reports
    t.destroy();
    destroyGpuLora(ctx, lora);
    const layout = loraLayout(g.files.config, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], rslora: false });
    const fresh = createGpuLora(ctx, layout, initLoraParams(layout, 3));
    const acc = new Trainer(ctx, g.weights, fresh, { lr: 1e-2, scheduler: 'constant', warmupSteps: 0, totalSteps: 1, seed: 1, gradientCheckpointing: false, optimizer: DEFAULT_OPTIMIZER });
    const r = await acc.trainStep([g.batch, g.batch]); // two micro-batches on a fresh optimizer (one loss slot)
    expect(Math.abs(r.loss - before.loss) / before.loss).toBeLessThan(1e-6);
    acc.destroy();
    destroyGpuLora(ctx, fresh);
  });
});
