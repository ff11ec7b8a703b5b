// The frozen base model on the CPU side, in the formats the GPU will hold: projections quantized to NF4
// (or kept as f16 / f32 for plain LoRA), bitsandbytes 4-bit checkpoints taken as they are, and the
// embedding, lm_head and norms kept in float (the embedding in its stored dtype, decoded on the GPU).
import { QloraError } from '../errors';
import type { ModelConfig } from '../formats/model-config';
import { normWidth } from '../formats/model-config';
import type { TensorSource } from '../formats/tensor-source';
import { f32ArrayToF16, bf16ArrayToF32, f16ArrayToF32 } from '../formats/half';
import { isBnb4bit, readBnbNf4 } from '../formats/bnb4bit';
import { quantizeNf4, dequantizeNf4 } from '../quant/nf4';
import type { HostWeight } from '../gpu/weight';
import type { LoraModule } from './lora';
import type { NormRole } from '../formats/architectures';
import { LAYER_KINDS } from '../formats/architectures';
import { ATTENTION_MODULES, layerLoraModules, moduleShape, modulePath } from './lora';
import { layerMixer } from '../formats/checkpoint-names';
import { GDN_TENSORS, gdnTensorShapes } from './mixers/gated-delta-net';
import type { GdnTensor } from './mixers/gated-delta-net';

/** Precision of the frozen projections: NF4 (QLoRA, the default), or f16 / f32 (plain LoRA). */
export type BaseQuant = 'nf4' | 'f16' | 'f32';
export const BASE_QUANTS: readonly BaseQuant[] = ['nf4', 'f16', 'f32'];

export interface HostLayerWeights {
  /** RMSNorm weights by role (architectures.ts names them in the checkpoint): [D], or [head_dim] for q and k. */
  norms: Partial<Record<NormRole, Float32Array>>;
  /** The layer's projections: its token mixer's and the MLP's (layerLoraModules). */
  proj: Partial<Record<LoraModule, HostWeight>>;
  bias: Partial<Record<LoraModule, Float32Array>>;
  /** A linear_attention layer's frozen Gated DeltaNet tensors (conv1d.weight flattened to [Ch, K]). */
  gdn?: Record<GdnTensor, Float32Array>;
  /**
   * The first SAMPLE_BLOCKS blocks of each projection as they were before NF4 quantization, so the Learn
   * view can show a block's quantization error (absent for checkpoints that arrive already in 4-bit).
   */
  original?: Partial<Record<LoraModule, Float32Array>>;
}

/** Blocks of 64 kept unquantized per projection for the Learn view (2 KiB each). */
export const SAMPLE_BLOCKS = 8;

export interface HostModelWeights {
  embed: HostWeight;
  lmHead: HostWeight | null; // null: tied to the embedding
  finalNorm: Float32Array;
  layers: HostLayerWeights[];
}

function expectShape(src: TensorSource, name: string, shape: number[]): void {
  const got = src.info(name).shape;
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new QloraError('WEIGHTS_CORRUPT', `${src.description}: "${name}" has shape [${got}], but config.json implies [${shape}].`, { tensor: name });
  }
}

function vector(src: TensorSource, name: string, n: number): Float32Array {
  expectShape(src, name, [n]);
  return src.float32(name);
}

/** A float matrix kept in its stored precision where the GPU can decode it (f32, f16, bf16). */
function floatMatrix(src: TensorSource, name: string, rows: number, cols: number): HostWeight {
  expectShape(src, name, [rows, cols]);
  const { dtype } = src.info(name);
  if (dtype === 'BF16' || dtype === 'F16') {
    const bytes = src.bytes(name);
    const data = new Uint16Array(bytes.slice().buffer);
    return { format: dtype === 'BF16' ? 'bf16' : 'f16', rows, cols, data };
  }
  return { format: 'f32', rows, cols, data: src.float32(name) };
}

/** The bytes of a 16-bit tensor as Uint16 values (a view when aligned, else a copy). */
function halfView(bytes: Uint8Array): Uint16Array {
  return bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : new Uint16Array(bytes.slice().buffer);
}

function projection(src: TensorSource, name: string, rows: number, cols: number, quant: BaseQuant, doubleQuant: boolean, original?: (w: Float32Array) => void): HostWeight {
  if (isBnb4bit(src, name)) {
    const q = readBnbNf4(src, name);
    if (q.shape[0] !== rows || q.shape[1] !== cols) {
      throw new QloraError('WEIGHTS_CORRUPT', `${src.description}: "${name}" has shape [${q.shape}], but config.json implies [${rows},${cols}].`, { tensor: name });
    }
    if (quant === 'nf4') return { format: 'nf4', rows, cols, data: q };
    const w = dequantizeNf4(q);
    return quant === 'f32' ? { format: 'f32', rows, cols, data: w } : { format: 'f16', rows, cols, data: f32ArrayToF16(w) };
  }
  expectShape(src, name, [rows, cols]);
  const { dtype } = src.info(name);
  if (quant === 'f16' && dtype === 'F16') return floatMatrix(src, name, rows, cols);
  if (quant === 'nf4' && (dtype === 'BF16' || dtype === 'F16')) {
    // Quantized straight from the stored 16-bit values: no float32 copy of the whole weight.
    const half = { dtype, bits: halfView(src.bytes(name)) } as const;
    original?.((dtype === 'BF16' ? bf16ArrayToF32 : f16ArrayToF32)(half.bits.subarray(0, SAMPLE_BLOCKS * 64)));
    return { format: 'nf4', rows, cols, data: quantizeNf4(half, [rows, cols], { doubleQuant }) };
  }
  const w = src.float32(name);
  original?.(w.slice(0, SAMPLE_BLOCKS * 64));
  if (quant === 'nf4') return { format: 'nf4', rows, cols, data: quantizeNf4(w, [rows, cols], { doubleQuant }) };
  if (quant === 'f16') return { format: 'f16', rows, cols, data: f32ArrayToF16(w) };
  return { format: 'f32', rows, cols, data: w };
}

export function prepareLayer(src: TensorSource, cfg: ModelConfig, layer: number, quant: BaseQuant, doubleQuant = true): HostLayerWeights {
  const proj: Partial<Record<LoraModule, HostWeight>> = {};
  const bias: Partial<Record<LoraModule, Float32Array>> = {};
  const original: Partial<Record<LoraModule, Float32Array>> = {};
  const mixer = layerMixer(cfg, layer);
  for (const m of layerLoraModules(cfg, layer)) {
    const [out, inF] = moduleShape(cfg, m);
    const path = modulePath(layer, m);
    proj[m] = projection(src, `${path}.weight`, out, inF, quant, doubleQuant, (w) => (original[m] = w));
    const isQkv = m === 'q_proj' || m === 'k_proj' || m === 'v_proj';
    const isMlp = !ATTENTION_MODULES.includes(m);
    const hasBias = (isQkv && cfg.qkvBias) || (m === 'o_proj' && cfg.oBias) || (isMlp && cfg.mlpBias);
    if (hasBias) bias[m] = vector(src, `${path}.bias`, out);
  }
  const norms: Partial<Record<NormRole, Float32Array>> = {};
  for (const [role, name] of layerNorms(cfg, layer)) {
    norms[role] = vector(src, `model.layers.${layer}.${name}.weight`, normWidth(cfg, role));
  }
  let gdn: Record<GdnTensor, Float32Array> | undefined;
  if (mixer.kind === 'gated_delta_net') {
    const shapes = gdnTensorShapes(cfg.linearAttention!);
    gdn = {} as Record<GdnTensor, Float32Array>;
    for (const t of GDN_TENSORS) {
      const name = `model.layers.${layer}.${mixer.path}.${t}`;
      expectShape(src, name, shapes[t]);
      gdn[t] = src.float32(name);
    }
  }
  return {
    norms,
    proj,
    bias,
    ...(gdn ? { gdn } : {}),
    ...(Object.keys(original).length ? { original } : {}),
  };
}

/**
 * The norms of layer `layer` by role and checkpoint name: a norm under a mixer's module (`self_attn.q_norm`)
 * belongs to that mixer, so a layer with another mixer (Qwen3.5's linear_attn layers) has none.
 */
export function layerNorms(cfg: ModelConfig, layer: number): [NormRole, string][] {
  const mixer = layerMixer(cfg, layer);
  const mixerPaths = new Set(NORM_OWNER_PATHS);
  return (Object.entries(cfg.architecture.norms) as [NormRole, string][]).filter(([, name]) => {
    const owner = name.includes('.') ? name.slice(0, name.indexOf('.')) : null;
    return owner === null || !mixerPaths.has(owner) || owner === mixer.path;
  });
}

const NORM_OWNER_PATHS: readonly string[] = Object.values(LAYER_KINDS).map((k) => k.path);

export const prepareEmbedding = (src: TensorSource, cfg: ModelConfig): HostWeight => floatMatrix(src, 'model.embed_tokens.weight', cfg.vocabSize, cfg.hiddenSize);
export const prepareLmHead = (src: TensorSource, cfg: ModelConfig): HostWeight => floatMatrix(src, 'lm_head.weight', cfg.vocabSize, cfg.hiddenSize);
export const prepareFinalNorm = (src: TensorSource, cfg: ModelConfig): Float32Array => vector(src, 'model.norm.weight', cfg.hiddenSize);

/** config.json says the output layer is its own tensor, and the checkpoint lacks it: refuse, never tie silently. */
export function untiedWithoutLmHead(where: string): QloraError {
  return new QloraError('WEIGHTS_CORRUPT', `${where} has no "lm_head.weight", but config.json says tie_word_embeddings: false. Use the complete checkpoint, or set tie_word_embeddings: true if the embedding really is the output layer.`, { tensor: 'lm_head.weight' });
}

export function prepareBaseWeights(src: TensorSource, cfg: ModelConfig, quant: BaseQuant, opts: { doubleQuant?: boolean } = {}): HostModelWeights {
  const tied = cfg.tieWordEmbeddings;
  if (!tied && !src.has('lm_head.weight')) throw untiedWithoutLmHead(src.description);
  const layers: HostLayerWeights[] = [];
  for (let i = 0; i < cfg.numLayers; i++) layers.push(prepareLayer(src, cfg, i, quant, opts.doubleQuant ?? true));
  return {
    embed: prepareEmbedding(src, cfg),
    lmHead: tied ? null : prepareLmHead(src, cfg),
    finalNorm: prepareFinalNorm(src, cfg),
    layers,
  };
}
