// A training pass with GpuContext.nf4Decode 'f16-scratch' (every NF4 projection decoded into the pass's
// f16 scratch before its product, src/gpu/ops/nf4-decode.ts) on the golden tiny-llama QLoRA run:
//   - bit for bit the same loss and LoRA gradients as the default path on an f16 base holding the
//     reference halves (dequantizeNf4F16): the decode changes where the f16 weight comes from, nothing else;
//   - close to the exact in-tile NF4 path and to the golden loss, within what rounding the weights to
//     f16 explains (see TOL);
//   - one decode dispatch per projection use, and none on the default path;
//   - generation (its own scratch per inference program) greedy ids equal to the f16 base's.
// Grouped LoRA without dropout (fused products binding the decoded weight, test/golden.test.ts's
// settings), and dropout with gradient checkpointing (products module by module, the layer recomputed).
import { describe, it, beforeAll, expect } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { ModelPass } from '../src/engine/causal-lm';
import { Generator } from '../src/engine/generate';
import { createGpuLora, destroyGpuLora, readLoraGrads } from '../src/engine/gpu-lora';
import { prepareBaseWeights } from '../src/engine/base-weights';
import type { HostModelWeights } from '../src/engine/base-weights';
import { uploadModelWeights, destroyModelWeights } from '../src/engine/gpu-weights';
import type { GpuModelWeights } from '../src/engine/gpu-weights';
import { loraLayout } from '../src/engine/lora';
import type { LoraModule } from '../src/engine/lora';
import type { HostWeight } from '../src/gpu/weight';
import { dequantizeNf4F16 } from '../src/quant/nf4';
import { gpu } from './helpers/gpu';
import { expectRelL2 } from './helpers/compare';
import { loadGolden } from './helpers/golden';
import type { LoadedGolden } from './helpers/golden';

// Rounding a weight to f16 moves it by at most 2^-11 ≈ 4.9e-4 of itself (these weights, of order 0.02
// to 0.1, are normal halves), in directions independent across weights, so each product's outputs move
// by well under 4.9e-4 relative and the loss, an average over tokens, by less. Measured on SwiftShader:
// the loss 5.6e-7 (dropout 0) and 1.0e-6 (dropout 0.1) relative from the in-tile path, the gradients
// 3.3e-4 and 3.1e-4 relative L2; the tolerances are 10× that. A decode that got a weight wrong is caught
// by the bit-for-bit comparison with the f16 base, not by these.
const TOL = { loss: 1e-5, grads: 3e-3 };

let ctx: GpuContext;
let decodeCtx: GpuContext;
let g: LoadedGolden;
let f16Base: GpuModelWeights;
beforeAll(async () => {
  ctx = await gpu();
  decodeCtx = { ...ctx, nf4Decode: 'f16-scratch' };
  g = await loadGolden(ctx, { model: 'tiny-llama', kind: 'qlora', checkpoint: 'float' });
  // The same NF4 base as g.weights, each projection replaced by its reference halves.
  const host: HostModelWeights = prepareBaseWeights(g.files.tensors, g.files.config, 'nf4');
  for (const layer of host.layers) {
    for (const [m, w] of Object.entries(layer.proj) as [LoraModule, HostWeight][]) {
      if (w.format !== 'nf4') throw new Error(`expected an NF4 ${m}, got ${w.format}`);
      layer.proj[m] = { format: 'f16', rows: w.rows, cols: w.cols, data: dequantizeNf4F16(w.data).subarray(0, w.rows * w.cols) };
    }
  }
  f16Base = uploadModelWeights(ctx, g.files.config, host);
  return () => destroyModelWeights(ctx, f16Base);
});

/** One training pass from the golden initial adapter: the mean loss, the LoRA gradients and the dispatch count. */
async function trainPass(c: GpuContext, weights: GpuModelWeights, dropout: number, gradientCheckpointing: boolean) {
  const layout = loraLayout(g.files.config, { ...g.layout.settings, dropout });
  const lora = createGpuLora(c, layout, g.init);
  const pass = new ModelPass(c, weights, lora, g.batch.batchSize, g.batch.seqLen, true, { gradientCheckpointing });
  await pass.run(g.batch, { gradScale: 1 / g.batch.targetCount, seed: 7 });
  const loss = (await pass.readLossSum()) / g.batch.targetCount;
  const grads = await readLoraGrads(c, lora);
  const dispatches = pass.program.dispatchCount;
  pass.destroy();
  destroyGpuLora(c, lora);
  return { loss, grads, dispatches };
}

describe("training with nf4Decode 'f16-scratch'", () => {
  for (const [dropout, checkpointing] of [[0, false], [0.1, true]] as const) {
    it(`tiny-llama, dropout ${dropout}${checkpointing ? ', gradient checkpointing' : ''}`, async () => {
      const decoded = await trainPass(decodeCtx, g.weights, dropout, checkpointing);
      const f16 = await trainPass(ctx, f16Base, dropout, checkpointing);
      const exact = await trainPass(ctx, g.weights, dropout, checkpointing);

      // Bit for bit the f16 base's pass: the same kernels on the same halves.
      expect(decoded.loss).toBe(f16.loss);
      expect(decoded.grads.every((v, i) => Object.is(v, f16.grads[i])), 'LoRA gradients bit for bit').toBe(true);

      // Within f16 weight rounding of the exact NF4 path (and of the golden loss, for dropout 0).
      expect(Math.abs(decoded.loss - exact.loss) / exact.loss).toBeLessThan(TOL.loss);
      if (dropout === 0) expect(Math.abs(decoded.loss - g.golden.losses[0]) / g.golden.losses[0]).toBeLessThan(TOL.loss);
      expectRelL2('LoRA gradients vs the in-tile path', decoded.grads, exact.grads, TOL.grads);
      expect(decoded.loss).not.toBe(exact.loss); // the f16 rounding is really there

      // One decode per projection use: 7 per layer forward (twice with checkpointing), 7 per layer
      // backward except the first layer's q/k/v input gradient, which is never computed.
      const L = g.files.config.numLayers;
      expect(decoded.dispatches - exact.dispatches).toBe(7 * L * (checkpointing ? 2 : 1) + 7 * L - 3);
      expect(f16.dispatches).toBe(exact.dispatches);
    });
  }

  it('generation decodes into its own scratch: the f16 base greedy ids', async () => {
    const lora = createGpuLora(ctx, g.layout, g.init);
    const ids = async (c: GpuContext, w: GpuModelWeights) => {
      const gen = new Generator(c, w, lora, 128);
      const out = await gen.generate(g.golden.generation.prompt_ids, { maxNewTokens: 8, greedy: true, ignoreEos: true });
      gen.destroy();
      return out;
    };
    const decoded = await ids(decodeCtx, g.weights);
    expect(decoded).toEqual(await ids(ctx, f16Base));
    expect(decoded.length).toBe(8);
    destroyGpuLora(ctx, lora);
  });
});
