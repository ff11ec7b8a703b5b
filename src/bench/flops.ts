// Useful floating-point work of one training step, counted the way the PEFT reference is compared:
// frozen linears forward (2·N·P) and input-gradient backward (2·N·P; no weight gradient), lm_head the
// same, LoRA forward and backward (≈ 6·N·r·(in + out) per adapted projection), causal attention
// (forward QKᵀ and PV: 2·B·H·T²·d per layer, backward twice that). N = B·T tokens. Recomputation
// (checkpointing, the attention backward's score recompute) is not useful work and is not counted.
import type { ModelConfig } from '../formats/model-config';
import type { LoraSettings } from '../engine/lora';
import { layerLoraModules, moduleShape } from '../engine/lora';
import { layerMixer } from '../formats/checkpoint-names';

export function trainingStepFlops(cfg: ModelConfig, B: number, T: number, lora: LoraSettings): number {
  const N = B * T;
  let layers = 0;
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    let linear = 0;
    let adapter = 0;
    for (const m of layerLoraModules(cfg, layer)) {
      const [out, inF] = moduleShape(cfg, m);
      linear += out * inF;
      if (lora.targets.includes(m)) adapter += 6 * N * lora.r * (inF + out);
    }
    // Attention's score and value products; a linear-attention layer's delta rule is not counted here.
    const attention = layerMixer(cfg, layer).kind === 'attention' ? 6 * B * cfg.numHeads * T * T * cfg.headDim : 0;
    layers += 4 * N * linear + adapter + attention;
  }
  const lmHead = cfg.vocabSize * cfg.hiddenSize;
  return layers + 4 * N * lmHead;
}
