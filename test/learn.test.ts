// The Learn view's numbers: adapter update norms from r×r Gram matrices equal ‖scale·B·A‖_F computed
// directly; an NF4 block against its original floats shows the quantization error.
import { describe, it, expect } from 'vitest';
import { adapterNorms, nf4Block } from '../src/app-core/learn';
import { loraLayout, initLoraParams } from '../src/engine/lora';
import { slotTensors, mergeLora } from '../src/engine/peft-adapter';
import { parseModelConfig } from '../src/formats/model-config';
import { prepareLayer } from '../src/engine/base-weights';
import { singleFile } from '../src/formats/tensor-source';
import { readFileSync } from 'node:fs';
import { FIXTURES, readSafetensors } from './helpers/golden';

const cfg = parseModelConfig(JSON.parse(readFileSync(`${FIXTURES}tiny-llama/config.json`, 'utf8')));

describe('learn view data', () => {
  it('adapter norms equal the Frobenius norm of scale·B·A', () => {
    const layout = loraLayout(cfg, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'down_proj'], rslora: false });
    const p = initLoraParams(layout, 3);
    for (const s of layout.slots) for (let i = 0; i < s.outF * 4; i++) p[s.bOffset + i] = Math.cos(i);
    const norms = adapterNorms(layout, p);
    layout.slots.forEach((s, k) => {
      const { A, B } = slotTensors(layout, p, s);
      const delta = mergeLora(new Float32Array(s.outF * s.inF), A, B, layout.scale, s.outF, s.inF, 4);
      expect(norms[k].norm).toBeCloseTo(Math.hypot(...delta), 3);
    });
  });

  it('an NF4 block shows its quantization error against the kept original floats', () => {
    const layer = prepareLayer(singleFile(readSafetensors(`${FIXTURES}tiny-llama/model.safetensors`)), cfg, 0, 'nf4');
    const original = layer.original!.q_proj!;
    const b = nf4Block(layer.proj.q_proj!, 1, original);
    expect(b.values).toEqual(Array.from(original.subarray(64, 128)));
    expect(b.error).toBeGreaterThan(0);
    expect(b.error).toBeLessThan(b.absmax / 8);
    for (const v of b.dequant) expect(b.levels.some((l) => Math.abs(l - v) < 1e-7)).toBe(true);
  });
});
