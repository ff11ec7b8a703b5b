// Quantizing a model shape's projections on the CPU the way loading does (from the stored BF16 values to
// NF4 with double quantization, src/quant/nf4.ts), one weight at a time so an 8B shape fits in memory.
// Only the quantization is timed, not drawing the random weights.
import type { ModelConfig } from '../formats/model-config';
import { quantizeNf4 } from '../quant/nf4';
import { layerLoraModules, moduleShape } from '../engine/lora';
import { randomHalf } from './random-weights';

export interface QuantizeBenchResult {
  model: string;
  params: number;
  seconds: number;
  mparams_per_s: number;
}

export function benchQuantize(name: string, cfg: ModelConfig): QuantizeBenchResult {
  let params = 0;
  let ms = 0;
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const m of layerLoraModules(cfg, layer)) {
      const [rows, cols] = moduleShape(cfg, m);
      const bits = randomHalf(rows * cols, layer * 16 + rows, true);
      const t0 = performance.now();
      quantizeNf4({ dtype: 'BF16', bits }, [rows, cols], { doubleQuant: true });
      ms += performance.now() - t0;
      params += rows * cols;
    }
  }
  return { model: name, params, seconds: ms / 1000, mparams_per_s: params / 1e6 / (ms / 1000) };
}
