// Training options the goldens do not cover, checked against the engine itself:
//   - LoRA dropout: the backward pass regenerates the forward pass's masks, so the gradient is the true
//     gradient of the (seeded) dropout loss — checked by a finite difference along the gradient;
//   - gradient checkpointing recomputes activations and gives the same gradients;
//   - gradient accumulation over micro-batches equals one batch of the same examples;
//   - rsLoRA scales by alpha/√r.
import { describe, it, beforeAll, expect } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { createGpuLora, readLoraGrads, destroyGpuLora } from '../src/engine/gpu-lora';
import { ModelPass } from '../src/engine/causal-lm';
import { loraLayout, initLoraParams, loraScale } from '../src/engine/lora';
import type { LoraSettings } from '../src/engine/lora';
import { collate } from '../src/data/batch';
import { gpu } from './helpers/gpu';
import { expectClose, l2 } from './helpers/compare';
import { loadGolden } from './helpers/golden';
import type { LoadedGolden } from './helpers/golden';

let ctx: GpuContext;
let g: LoadedGolden;
beforeAll(async () => {
  ctx = await gpu();
  g = await loadGolden(ctx, { model: 'tiny-llama', kind: 'qlora', checkpoint: 'float' });
});

const settings: LoraSettings = { r: 4, alpha: 8, dropout: 0.2, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'], rslora: false };

/** Params with B non-zero too, so every gradient path is exercised. */
function params(s: LoraSettings, seed: number) {
  const layout = loraLayout(g.files.config, s);
  const p = initLoraParams(layout, seed);
  for (const slot of layout.slots) for (let i = 0; i < slot.outF * s.r; i++) p[slot.bOffset + i] = Math.sin(i * 0.37 + slot.layer) * 0.05;
  return { layout, p };
}

async function gradsOf(s: LoraSettings, p: Float32Array, opts: { checkpointing?: boolean; seed?: number; micro?: number[][] } = {}): Promise<{ grads: Float32Array; loss: number }> {
  const layout = loraLayout(g.files.config, s);
  const lora = createGpuLora(ctx, layout, p);
  const groups = opts.micro ?? [[0, 1, 2]];
  const examples = g.golden.batch.input_ids.map((ids, b) => ({ inputIds: ids, labels: g.golden.batch.labels[b] }));
  const batches = groups.map((rows) => collate(rows.map((r) => examples[r]), 0, { padToLength: g.batch.seqLen }));
  const total = batches.reduce((n, b) => n + b.targetCount, 0);
  let lossSum = 0;
  for (const b of batches) {
    const pass = new ModelPass(ctx, g.weights, lora, b.batchSize, b.seqLen, true, { gradientCheckpointing: opts.checkpointing });
    await pass.run(b, { gradScale: 1 / total, seed: opts.seed ?? 7 });
    lossSum += await pass.readLossSum();
    pass.destroy();
  }
  const grads = await readLoraGrads(ctx, lora);
  destroyGpuLora(ctx, lora);
  return { grads, loss: lossSum / total };
}

describe('training options', () => {
  it('dropout: the gradient matches a finite difference of the seeded dropout loss', async () => {
    const { p } = params(settings, 1);
    const { grads } = await gradsOf(settings, p);
    const dir = grads.map((v) => v / l2(grads));
    const eps = 2e-3;
    const plus = await gradsOf(settings, p.map((v, i) => v + eps * dir[i]));
    const minus = await gradsOf(settings, p.map((v, i) => v - eps * dir[i]));
    const fd = (plus.loss - minus.loss) / (2 * eps);
    expect(Math.abs(fd - l2(grads)) / l2(grads)).toBeLessThan(2e-2);
    // a different seed draws other masks
    const other = await gradsOf(settings, p, { seed: 8 });
    expect(l2(other.grads.map((v, i) => v - grads[i]))).toBeGreaterThan(1e-3 * l2(grads));
  });

  it('gradient checkpointing gives the same gradients (dropout masks regenerated identically)', async () => {
    const { p } = params(settings, 2);
    const a = await gradsOf(settings, p);
    const b = await gradsOf(settings, p, { checkpointing: true });
    expectClose('grads', b.grads, a.grads, { atol: 1e-7, rtol: 1e-5 });
  });

  it('gradient accumulation over micro-batches equals the whole batch', async () => {
    const s = { ...settings, dropout: 0 };
    const { p } = params(s, 3);
    const whole = await gradsOf(s, p);
    const split = await gradsOf(s, p, { micro: [[0], [1, 2]] });
    expectClose('grads', split.grads, whole.grads, { atol: 1e-7, rtol: 1e-4 });
    expect(Math.abs(split.loss - whole.loss) / whole.loss).toBeLessThan(1e-6);
  });

  it('rsLoRA scales the adapter by alpha/√r', async () => {
    const s = { ...settings, dropout: 0, rslora: true };
    expect(loraScale(s)).toBeCloseTo(8 / 2, 12);
    // rsLoRA with B equals plain LoRA with B · (rsLoRA scale / plain scale): the same function
    const { p } = params(s, 4);
    const rs = await gradsOf(s, p);
    const plain = { ...s, rslora: false };
    const layout = loraLayout(g.files.config, plain);
    const q = Float32Array.from(p);
    for (const slot of layout.slots) for (let i = 0; i < slot.outF * s.r; i++) q[slot.bOffset + i] *= loraScale(s) / loraScale(plain);
    const same = await gradsOf(plain, q);
    expect(Math.abs(rs.loss - same.loss) / same.loss).toBeLessThan(1e-6);
  });
});
