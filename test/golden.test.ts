// The engine against transformers + PEFT (float64 goldens in test/fixtures/golden) for every run:
// LoRA on the float base, QLoRA on our NF4 quantization of it, and QLoRA on the bitsandbytes-format
// checkpoint. Logits, loss, every LoRA gradient by name, the adapter after 3 AdamW steps, the losses
// along the way, greedy generation with the trained adapter, and merged weights.
import { describe, it, beforeAll, afterAll, expect } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { createGpuLora, readLoraGrads, readLoraParams } from '../src/engine/gpu-lora';
import type { GpuLora } from '../src/engine/gpu-lora';
import { ModelPass } from '../src/engine/causal-lm';
import { Trainer } from '../src/engine/trainer';
import { Generator } from '../src/engine/generate';
import { peftKey, slotTensors, mergeLora, readAdapterWeights } from '../src/engine/peft-adapter';
import { prepareBaseWeights } from '../src/engine/base-weights';
import { dequantizeNf4 } from '../src/quant/nf4';
import { gpu } from './helpers/gpu';
import { expectClose, expectRelL2, l2 } from './helpers/compare';
import { GOLDEN_RUNS, runName, goldenDir, loadGolden, readSafetensors } from './helpers/golden';
import type { LoadedGolden } from './helpers/golden';
import type { LoraModule } from '../src/engine/lora';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

for (const run of GOLDEN_RUNS) {
  describe(runName(run), () => {
    let g: LoadedGolden;
    let lora: GpuLora;
    let trainer: Trainer;
    const dir = goldenDir(run);
    beforeAll(async () => {
      g = await loadGolden(ctx, run);
      lora = createGpuLora(ctx, g.layout, g.init);
      trainer = new Trainer(ctx, g.weights, lora, {
        lr: g.golden.optimizer.lr, scheduler: 'constant', warmupSteps: 0, totalSteps: g.golden.steps, seed: 0, gradientCheckpointing: false,
        optimizer: { beta1: g.golden.optimizer.betas[0], beta2: g.golden.optimizer.betas[1], eps: g.golden.optimizer.eps, weightDecay: g.golden.optimizer.weight_decay, maxGradNorm: g.golden.max_grad_norm },
      });
    });
    afterAll(() => trainer?.destroy());

    it('logits of the batch with adapter_init within 1e-4, loss within 1e-5 relative', async () => {
      const { batchSize: B, seqLen: T } = g.batch;
      const pass = new ModelPass(ctx, g.weights, lora, B, T, false, { keepLogits: true });
      await pass.run(g.batch);
      const logits = await pass.readLogits();
      const loss = (await pass.readLossSum()) / g.batch.targetCount;
      pass.destroy();
      const want = readSafetensors(dir + 'logits.safetensors').float32('logits');
      expectClose('logits', logits, want, { atol: 1e-4 });
      expect(Math.abs(loss - g.golden.losses[0]) / g.golden.losses[0]).toBeLessThan(1e-5);
    });

    it('every LoRA gradient within 1e-4 relative L2 (first step, before the update)', async () => {
      const pass = trainer.pass(g.batch.batchSize, g.batch.seqLen, true);
      await pass.run(g.batch, { gradScale: 1 / g.batch.targetCount });
      const grads = await readLoraGrads(ctx, lora);
      const want = readSafetensors(dir + 'grads.safetensors');
      for (const slot of g.layout.slots) {
        const { A, B } = slotTensors(g.layout, grads, slot);
        expectRelL2(peftKey(slot, 'A'), A, want.float32(peftKey(slot, 'A')), 1e-4);
        expectRelL2(peftKey(slot, 'B'), B, want.float32(peftKey(slot, 'B')), 1e-4);
      }
      // leave the gradients clean for the training test
      const enc = ctx.device.createCommandEncoder();
      enc.clearBuffer(lora.grads);
      ctx.device.queue.submit([enc.finish()]);
    });

    it('3 AdamW steps: losses, and the adapter within 1e-3 relative L2 of its update', async () => {
      const losses: number[] = [];
      for (let s = 0; s < g.golden.steps; s++) losses.push((await trainer.trainStep([g.batch])).loss);
      losses.push((await trainer.evaluate([g.batch])).loss);
      expectClose('losses', losses, g.golden.losses, { rtol: 1e-5 });
      const params = await readLoraParams(ctx, lora);
      const want = readAdapterWeights(readSafetensors(dir + 'adapter_step3/adapter_model.safetensors'), g.layout);
      for (const slot of g.layout.slots) {
        const ours = slotTensors(g.layout, params, slot);
        const ref = slotTensors(g.layout, want, slot);
        const init = slotTensors(g.layout, g.init, slot);
        for (const which of ['A', 'B'] as const) {
          const update = ref[which].map((v, i) => v - init[which][i]);
          const err = l2(ours[which].map((v, i) => v - ref[which][i])) / l2(update);
          expect(err, `${peftKey(slot, which)}: error / update = ${err}`).toBeLessThanOrEqual(1e-3);
        }
      }
    });

    // Qwen3.5's linear layers generate from a recurrent cache (conv and delta-rule states), which lands with
    // Qwen3.5 generation (branch q35x); this case is skipped for it until then, saying so in its name.
    const noRecurrentCache = run.model === 'tiny-qwen3_5';
    const skipped = noRecurrentCache ? ' (SKIPPED for Qwen3.5 until the recurrent generation cache lands)' : '';
    it.skipIf(noRecurrentCache)(`greedy generation with the trained adapter gives the golden ids${skipped}`, async () => {
      const gen = new Generator(ctx, g.weights, lora, 128);
      const ids = await gen.generate(g.golden.generation.prompt_ids, { maxNewTokens: g.golden.generation.greedy_new_ids.length, greedy: true, ignoreEos: true });
      gen.destroy();
      expect(ids).toEqual(g.golden.generation.greedy_new_ids);
    });

    it('merged layer-0 weights (W + scale·B·A) within 1e-5', async () => {
      const params = await readLoraParams(ctx, lora);
      const want = readSafetensors(dir + 'merged_layer0.safetensors');
      const host = prepareBaseWeights(g.files.tensors, g.files.config, run.kind === 'qlora' ? 'nf4' : 'f32');
      // The tensors merged_layer0.safetensors holds: golden.json lists them where they are not layer 0's q_proj and down_proj.
      const names = g.golden.qwen3_5?.merged_layer0_keys ?? ['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.mlp.down_proj.weight'];
      for (const name of names) {
        const [, layerText, , module] = /^model\.layers\.(\d+)\.(\w+)\.(\w+)\.weight$/.exec(name)!;
        const layer = Number(layerText);
        const m = module as LoraModule;
        const slot = g.layout.slot(layer, m);
        const hw = host.layers[layer].proj[m]!;
        const W = hw.format === 'nf4' ? dequantizeNf4(hw.data) : (hw.data as Float32Array);
        const merged = slot ? (() => {
          const { A, B } = slotTensors(g.layout, params, slot);
          return mergeLora(W, A, B, g.layout.scale, hw.rows, hw.cols, g.layout.settings.r);
        })() : W;
        expectClose(name, merged, want.float32(name), { atol: 1e-5 });
      }
    });
  });
}
