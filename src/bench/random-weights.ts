// Random base weights of a given shape for the benchmark: NF4 codes and double-quantized absmax drawn
// directly (quantizing random floats would dominate the run time for an 8B shape), f16 / f32 / bf16
// values of a realistic magnitude. Speed depends on shapes and formats, not on the values.
import type { ModelConfig } from '../formats/model-config';
import type { HostWeight } from '../gpu/weight';
import type { BaseQuant, HostLayerWeights, HostModelWeights } from '../engine/base-weights';
import { normWidth } from '../formats/model-config';
import { LORA_MODULES, layerLoraModules, moduleShape } from '../engine/lora';
import { layerNorms } from '../engine/base-weights';
import { layerMixer } from '../formats/checkpoint-names';
import { gdnTensorShapes } from '../engine/mixers/gated-delta-net';
import type { GdnTensor } from '../engine/mixers/gated-delta-net';
import type { LoraModule } from '../engine/lora';
import { SIGNED_DYNAMIC_MAP } from '../quant/code-tables';

/** xorshift32 filling whole words: fast enough for billions of bytes. */
function randomWords(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x >>> 0;
  }
  return out;
}

/** 16-bit floats (f16 or bf16 bit patterns) of magnitude about 2^-7..2^-5, random sign and mantissa. */
export function randomHalf(n: number, seed: number, bf16: boolean): Uint16Array {
  const w = new Uint16Array(randomWords(Math.ceil(n / 2), seed).buffer, 0, n);
  const [expShift, expBase, mantMask] = bf16 ? [7, 120, 0x7f] : [10, 8, 0x3ff];
  for (let i = 0; i < n; i++) {
    const r = w[i];
    w[i] = (r & 0x8000) | ((expBase + ((r >> 12) & 1)) << expShift) | (r & mantMask);
  }
  return w;
}

export function randomWeight(rows: number, cols: number, quant: BaseQuant, seed: number): HostWeight {
  const n = rows * cols;
  if (quant === 'f16') return { format: 'f16', rows, cols, data: randomHalf(n, seed, false) };
  if (quant === 'f32') {
    const data = new Float32Array(n);
    const r = randomWords(n, seed);
    for (let i = 0; i < n; i++) data[i] = ((r[i] / 2 ** 32) - 0.5) * 0.04;
    return { format: 'f32', rows, cols, data };
  }
  const blocks = Math.ceil(n / 64);
  const codes = new Uint8Array(randomWords(Math.ceil(blocks / 4), seed + 1).buffer, 0, blocks);
  return {
    format: 'nf4', rows, cols,
    data: {
      shape: [rows, cols],
      packed: new Uint8Array(randomWords(Math.ceil(n / 8), seed).buffer, 0, Math.ceil(n / 2)),
      blocksize: 64,
      absmax: { codes, nestedAbsmax: new Float32Array(Math.ceil(blocks / 256)).fill(0.02), offset: 0.03, code: SIGNED_DYNAMIC_MAP, nestedBlocksize: 256 },
    },
  };
}

/** A linear layer's frozen Gated DeltaNet tensors: small conv taps, decays from A_log ~ 0 and dt_bias 0, a unit norm. */
function randomGdnTensors(cfg: ModelConfig, seed: number): Record<GdnTensor, Float32Array> {
  const shapes = gdnTensorShapes(cfg.linearAttention!);
  const size = (t: GdnTensor) => shapes[t].reduce((a, b) => a * b, 1);
  return {
    'conv1d.weight': Float32Array.from({ length: size('conv1d.weight') }, (_, k) => 0.3 * Math.sin(k + seed)),
    A_log: new Float32Array(size('A_log')),
    dt_bias: new Float32Array(size('dt_bias')),
    'norm.weight': new Float32Array(size('norm.weight')).fill(1),
  };
}

export function randomModel(cfg: ModelConfig, quant: BaseQuant, seed = 1): HostModelWeights {
  const D = cfg.hiddenSize;
  const layers: HostLayerWeights[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const proj: Partial<Record<LoraModule, HostWeight>> = {};
    for (const m of layerLoraModules(cfg, i)) {
      const [out, inF] = moduleShape(cfg, m);
      proj[m] = randomWeight(out, inF, quant, seed + i * 16 + LORA_MODULES.indexOf(m));
    }
    const bias: Partial<Record<LoraModule, Float32Array>> = {};
    if (cfg.qkvBias) for (const m of ['q_proj', 'k_proj', 'v_proj'] as const) bias[m] = new Float32Array(moduleShape(cfg, m)[0]).fill(0.01);
    const norms: HostLayerWeights['norms'] = {};
    // Ones for Llama-style norms; zeros for Gemma's 1 + w: both the identity scale.
    for (const [role] of layerNorms(cfg, i)) norms[role] = new Float32Array(normWidth(cfg, role)).fill(1 - cfg.architecture.normOffset);
    layers.push({ norms, proj, bias, ...(layerMixer(cfg, i).kind === 'gated_delta_net' ? { gdn: randomGdnTensors(cfg, seed + i * 16) } : {}) });
  }
  const embed: HostWeight = { format: 'bf16', rows: cfg.vocabSize, cols: D, data: randomHalf(cfg.vocabSize * D, seed + 7, true) };
  const lmHead: HostWeight | null = cfg.tieWordEmbeddings ? null : { format: 'bf16', rows: cfg.vocabSize, cols: D, data: randomHalf(cfg.vocabSize * D, seed + 9, true) };
  return { embed, lmHead, finalNorm: new Float32Array(D).fill(1 - cfg.architecture.normOffset), layers };
}
