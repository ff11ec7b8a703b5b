// The benchmark's random base weights (src/bench/random-weights.ts) have each layer's own parts: a hybrid's
// linear layers the Gated DeltaNet projections and frozen tensors, its attention layers q/k/v/o and their norms,
// the shapes the loader would give the real checkpoint. Pure Node.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { randomModel } from '../src/bench/random-weights';
import { shapeConfig } from '../src/bench/shapes';
import { parseModelConfig } from '../src/formats/model-config';
import { layerLoraModules, moduleShape } from '../src/engine/lora';
import { gdnTensorShapes } from '../src/engine/mixers/gated-delta-net';

describe('random base weights', () => {
  it('tiny-qwen3_5: linear layers get the Gated DeltaNet parts, the full-attention layer q/k/v/o and q/k norms', () => {
    const cfg = parseModelConfig(JSON.parse(readFileSync(new URL('./fixtures/tiny-qwen3_5/config.json', import.meta.url), 'utf8')));
    const m = randomModel(cfg, 'nf4');
    const shapes = gdnTensorShapes(cfg.linearAttention!);
    m.layers.forEach((layer, i) => {
      expect(Object.keys(layer.proj), `layer ${i}`).toEqual(layerLoraModules(cfg, i));
      for (const [name, w] of Object.entries(layer.proj)) expect([w!.rows, w!.cols], `${i} ${name}`).toEqual(moduleShape(cfg, name as never));
      const linear = cfg.layerTypes[i] === 'linear_attention';
      expect(layer.gdn !== undefined, `layer ${i} gdn`).toBe(linear);
      if (layer.gdn) for (const [t, v] of Object.entries(layer.gdn)) expect(v.length, t).toBe(shapes[t as keyof typeof shapes].reduce((a, b) => a * b, 1));
      expect(layer.norms.q !== undefined, `layer ${i} q norm`).toBe(!linear);
    });
  });

  it('the bench shapes qwen3.5-0.8b and qwen3.5-2b parse as 18 linear + 6 full-attention layers', () => {
    for (const name of ['qwen3.5-0.8b', 'qwen3.5-2b']) {
      const cfg = shapeConfig(name)!;
      expect(cfg.layerTypes.filter((t) => t === 'linear_attention').length).toBe(18);
      expect(cfg.layerTypes.filter((t, i) => t === 'full_attention' && i % 4 === 3).length).toBe(6);
      expect(cfg).toMatchObject({ numHeads: 8, numKvHeads: 2, headDim: 256, rotaryDim: 64, tieWordEmbeddings: true, vocabSize: 248320 });
      expect(cfg.linearAttention).toEqual({ numKeyHeads: 16, numValueHeads: 16, keyHeadDim: 128, valueHeadDim: 128, convKernelDim: 4 });
    }
  });
});
