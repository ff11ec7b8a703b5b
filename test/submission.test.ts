// Paced submission (what the app's worker uses so the page stays responsive): a training pass goes to
// the queue in segments, a few at a time, and trains exactly as one submission does: the golden
// losses of the QLoRA run on tiny-llama. Also the segment layout and its per-segment timing.
import { describe, it, beforeAll, afterAll, expect } from 'vitest';
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../src/io/node-gpu';
import { createGpuContext } from '../src/gpu/context';
import type { GpuContext } from '../src/gpu/context';
import { createGpuLora } from '../src/engine/gpu-lora';
import { Trainer } from '../src/engine/trainer';
import { expectClose } from './helpers/compare';
import { GOLDEN_RUNS, loadGolden } from './helpers/golden';
import type { LoadedGolden } from './helpers/golden';

const run = GOLDEN_RUNS.find((r) => r.model === 'tiny-llama' && r.kind === 'qlora' && r.checkpoint === 'float')!;

describe('paced submission', () => {
  let ctx: GpuContext;
  let g: LoadedGolden;
  let trainer: Trainer;
  beforeAll(async () => {
    useSoftwareAdapterIfNoDriver();
    ctx = await createGpuContext(await nodeAdapter(), { pacedSubmission: true });
    g = await loadGolden(ctx, run);
    trainer = new Trainer(ctx, g.weights, createGpuLora(ctx, g.layout, g.init), {
      lr: g.golden.optimizer.lr, scheduler: 'constant', warmupSteps: 0, totalSteps: g.golden.steps, seed: 0, gradientCheckpointing: false,
      optimizer: { beta1: g.golden.optimizer.betas[0], beta2: g.golden.optimizer.betas[1], eps: g.golden.optimizer.eps, weightDecay: g.golden.optimizer.weight_decay, maxGradNorm: g.golden.max_grad_norm },
    });
  });
  afterAll(() => trainer?.destroy());

  it('reproduces the golden losses of 3 steps', async () => {
    const losses: number[] = [];
    for (let s = 0; s < g.golden.steps; s++) losses.push((await trainer.trainStep([g.batch])).loss);
    losses.push((await trainer.evaluate([g.batch])).loss);
    expectClose('losses', losses, g.golden.losses, { rtol: 1e-5 });
  });

  it('cuts a training pass into a segment per layer block and per logits chunk, each timed alone', async () => {
    const L = g.files.config.numLayers;
    const pass = trainer.pass(g.batch.batchSize, g.batch.seqLen, true);
    // forward: attention and MLP blocks of each layer (2L), one logits chunk; backward: 2L
    expect(pass.submissions).toBe(4 * L + 1);
    const ms = await pass.timeSubmissions(g.batch, { gradScale: 0 });
    expect(ms).toHaveLength(pass.submissions);
    for (const t of ms) expect(t).toBeGreaterThan(0);
  });
});
