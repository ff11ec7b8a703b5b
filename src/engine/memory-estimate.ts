// GPU memory of a training run, computed from the same buffer list the engine allocates, so the app
// can say "this will not fit, reduce X" before a multi-gigabyte download or an out-of-memory loss of
// the device. Mirrors, buffer by buffer:
//   - gpu-weights.ts / gpu/weight.ts: the frozen base (NF4: packed n/2 bytes + 8-bit absmax codes n/64 +
//     an f32 per 256 codes + the 1 KiB 8-bit code map, per projection; or f16 / f32), the embedding and
//     lm_head in their stored dtype, the norms the architecture has (q/k norms head_dim wide), biases,
//     the RoPE cos/sin tables (a second set for Gemma 3's sliding layers);
//   - gpu-lora.ts + optimizer.ts: params, grads, AdamW m and v, each one flat f32 buffer of
//     layout.totalFloats, and the optimizer's reduce scratch;
//   - causal-lm.ts + decoder-layer.ts: the residual stream (L+1)×[M, D], each layer's kept activations
//     (one shared set with gradient checkpointing, plus a buffer for the recomputed layer output; with
//     q/k norms q and k before them and their statistics; with output norms o_proj's and down_proj's
//     outputs), the backward scratch (LoRA dropout is applied as the products load x, never stored),
//     and one chunk of logits (rows × V × 4, the chunk rule of causal-lm.ts); in a training pass whose
//     lm_head backward is split over the vocabulary (PassOptions.lmHeadSplitK), its partial sums
//     (slices × rows × D × 4);
//   - a hybrid's linear_attention layers (Qwen3.5): their own projections and frozen Gated DeltaNet tensors
//     in place of attention's, and the mixer's declared buffer plans (mixers/gated-delta-net.ts: activations
//     per linear layer, the delta rule's per-chunk states among them, and one scratch per pass); gated
//     attention's q_proj twice as tall, its qg / gated activations and their gradients;
//   - with nf4Decode 'f16-scratch' on an NF4 base, each pass's f16 scratch (gpu/ops/nf4-decode.ts): the
//     largest projection at 2 bytes a weight (an odd count padded to a whole u32).
// Every buffer is rounded as GpuContext.createBuffer rounds it (multiples of 4, at least 4). Left out:
// uniform blocks (256 bytes per dispatch) and the 16-byte dummy binding; the test checks the rest
// against ctx.memory on real allocations. When causal-lm.ts or decoder-layer.ts change what they
// allocate, this file must follow (the test fails otherwise).
import { DEFAULT_LOGITS_CHUNK_BYTES, lmHeadSplitSlices, logitsChunkRows } from './causal-lm';
import type { ModelConfig } from '../formats/model-config';
import type { LoraSettings } from './lora';
import { LORA_MODULES, layerLoraModules, loraLayout, modelLoraModules, moduleShape } from './lora';
import { loraGroupWidth, loraScratchFloats } from './lora-groups';
import { layerNorms } from './base-weights';
import { layerMixer } from '../formats/checkpoint-names';
import { GDN_TENSORS, gdnActsPlan, gdnLayerDims, gdnScratchPlan, gdnTensorShapes } from './mixers/gated-delta-net';
import { plannedBytes } from './buffer-plan';
import type { PlannedBuffer } from './buffer-plan';
import { hasSlidingRope, normWidth } from '../formats/model-config';
import type { NormRole } from '../formats/architectures';

export type MemoryPart = 'base' | 'lora' | 'optimizer' | 'activations' | 'logits';

export interface TrainingMemorySettings {
  readonly quant: 'nf4' | 'f16' | 'f32';
  /** Bytes per element of the embedding and lm_head as stored in the checkpoint (2 for F16/BF16, 4 for F32). */
  readonly embedDtypeBytes: number;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly lora: LoraSettings;
  readonly gradientCheckpointing: boolean;
  /** PassOptions.logitsChunkBytes (default 256 MiB, as causal-lm.ts). */
  readonly logitsChunkBytes?: number;
  /** PassOptions.lmHeadSplitK (default 1: unsplit; 'auto': chooseSplitK's rule). */
  readonly lmHeadSplitK?: number | 'auto';
  /** A validation split: the trainer keeps an evaluation pass of the same shape next to the training one. */
  readonly evaluation?: boolean;
  /** uploadModelWeights' maxPositions (RoPE table rows; default 4096). */
  readonly maxPositions?: number;
  /** GpuContext.nf4Decode (default 'in-tile'): 'f16-scratch' adds a decode scratch per pass on an NF4 base. */
  readonly nf4Decode?: 'in-tile' | 'f16-scratch';
}

export interface MemoryItem {
  readonly label: string;
  readonly bytes: number;
}

export interface MemoryEstimate {
  readonly base: number;
  /** LoRA parameters and gradients (full fine-tuning: 0, its gradients count under optimizer). */
  readonly lora: number;
  /** AdamW moments m and v (full fine-tuning: plus the gradients). */
  readonly optimizer: number;
  readonly activations: number;
  readonly logits: number;
  readonly total: number;
  /** Bytes per kind of buffer, largest first. */
  readonly breakdown: MemoryItem[];
  /** The biggest single buffer: it must fit maxBufferSize and maxStorageBufferBindingSize. */
  readonly largestBuffer: MemoryItem;
  /** What the estimate was made for, so checkFits can say what to change. */
  readonly settings: TrainingMemorySettings;
  readonly kind: 'qlora' | 'lora' | 'full';
}

const DEFAULT_MAX_POSITIONS = 4096; // gpu-weights.ts uploadModelWeights default
const NF4_BLOCK = 64;
const NESTED_BLOCK = 256;
const CODE_MAP_BYTES = 256 * 4;
const REDUCE_CHUNK = 256 * 16; // gpu/ops/optimizer.ts: one partial sum per 4096 values

/** GpuContext.createBuffer's rounding. */
const bufferBytes = (bytes: number) => Math.max(4, Math.ceil(bytes / 4) * 4);

/** The rows of one logits chunk, as causal-lm.ts chooses them (multiples of 64 keep bindings aligned). */

/** A list of GPU buffers, grouped by label, each counted `count` times. */
class BufferList {
  readonly groups: { part: MemoryPart; label: string; each: number; count: number }[] = [];

  add(part: MemoryPart, label: string, bytes: number, count = 1): void {
    if (count > 0) this.groups.push({ part, label, each: bufferBytes(bytes), count });
  }

  /** Sums per part, the per-label breakdown and the biggest buffer. */
  summarize(settings: TrainingMemorySettings, kind: MemoryEstimate['kind']): MemoryEstimate {
    const parts: Record<MemoryPart, number> = { base: 0, lora: 0, optimizer: 0, activations: 0, logits: 0 };
    const byLabel = new Map<string, number>();
    let largestBuffer: MemoryItem = { label: 'none', bytes: 0 };
    for (const g of this.groups) {
      const bytes = g.each * g.count;
      parts[g.part] += bytes;
      byLabel.set(g.label, (byLabel.get(g.label) ?? 0) + bytes);
      if (g.each > largestBuffer.bytes) largestBuffer = { label: g.label, bytes: g.each };
    }
    const breakdown = [...byLabel].map(([label, bytes]) => ({ label, bytes })).sort((a, b) => b.bytes - a.bytes);
    const total = parts.base + parts.lora + parts.optimizer + parts.activations + parts.logits;
    return { ...parts, total, breakdown, largestBuffer, settings, kind };
  }
}

/** Bytes of one NF4 projection of n weights on the GPU: packed codes, absmax codes, nested absmax, code map. */
export function nf4WeightBytes(n: number): number {
  const blocks = Math.ceil(n / NF4_BLOCK);
  return bufferBytes(Math.ceil(n / 2)) + bufferBytes(blocks) + bufferBytes(Math.ceil(blocks / NESTED_BLOCK) * 4) + CODE_MAP_BYTES;
}

function hasBias(cfg: ModelConfig, m: (typeof LORA_MODULES)[number]): boolean {
  if (m === 'q_proj' || m === 'k_proj' || m === 'v_proj') return cfg.qkvBias;
  if (m === 'o_proj') return cfg.oBias;
  return cfg.mlpBias;
}

/** The frozen base as uploadModelWeights lays it out: projections in `quant`, the rest in float. */
function addBase(list: BufferList, cfg: ModelConfig, quant: TrainingMemorySettings['quant'], embedDtypeBytes: number, maxPositions: number): void {
  const { vocabSize: V, hiddenSize: D, numLayers: L } = cfg;
  for (let layer = 0; layer < L; layer++) {
    for (const m of layerLoraModules(cfg, layer)) {
      const [out, inF] = moduleShape(cfg, m);
      const n = out * inF;
      if (quant === 'nf4') {
        // Four buffers per weight; the packed codes are the largest.
        list.add('base', `${m} (NF4 codes)`, Math.ceil(n / 2));
        list.add('base', `${m} (NF4 absmax)`, nf4WeightBytes(n) - bufferBytes(Math.ceil(n / 2)));
      } else {
        list.add('base', `${m} (${quant})`, n * (quant === 'f16' ? 2 : 4));
      }
      if (hasBias(cfg, m)) list.add('base', 'biases', out * 4);
    }
    for (const [role] of layerNorms(cfg, layer)) list.add('base', 'norms', normWidth(cfg, role) * 4);
    if (cfg.linearAttention && layerMixer(cfg, layer).kind === 'gated_delta_net') {
      const shapes = gdnTensorShapes(cfg.linearAttention);
      for (const t of GDN_TENSORS) list.add('base', 'linear-attention conv, decay and norm weights', shapes[t].reduce((a, b) => a * b, 1) * 4);
    }
  }
  list.add('base', 'norms', D * 4); // the final norm
  list.add('base', 'embedding', V * D * embedDtypeBytes);
  if (!cfg.tieWordEmbeddings) list.add('base', 'lm_head', V * D * embedDtypeBytes);
  const ropeRows = Math.min(cfg.maxPositionEmbeddings, maxPositions);
  list.add('base', 'RoPE tables', ropeRows * (cfg.rotaryDim / 2) * 4, hasSlidingRope(cfg) ? 4 : 2);
}

interface PassShape {
  B: number;
  T: number;
  train: boolean;
  checkpointing: boolean;
  /** LoRA rank and the count of targets the model has (0: no LoRA buffers, as full fine-tuning would have). */
  r: number;
  targets: number;
  /** Most targeted modules sharing one input (lora-groups.ts). */
  groupWidth: number;
  dropout: number;
  logitsChunkBytes: number;
  lmHeadSplitK?: number | 'auto';
  /** Weights of the NF4 → f16 decode scratch (the largest projection), 0 without one. */
  nf4ScratchWeights: number;
  prefix: string;
}

/** What one ModelPass allocates (causal-lm.ts, with allocLayerActs / allocBwdScratch of decoder-layer.ts). */
function addPass(list: BufferList, cfg: ModelConfig, p: PassShape): void {
  const { B, T, prefix } = p;
  const M = B * T;
  const D = cfg.hiddenSize;
  const Q = cfg.numHeads * cfg.headDim;
  const KV = cfg.numKvHeads * cfg.headDim;
  const I = cfg.intermediateSize;
  const H = cfg.numHeads;
  const L = cfg.numLayers;
  const V = cfg.vocabSize;
  const maxIn = Math.max(D, Q, I);
  const act = (label: string, floats: number, count = 1) => list.add('activations', prefix + label, floats * 4, count);

  // Batch inputs, loss and the dynamic values written each run.
  act('ids, targets, loss rows', M, 3);
  act('scalars', 1, 4); // grad scale, pos0, dropout seed, loss sum
  act('loss reduce scratch', Math.ceil(M / REDUCE_CHUNK));
  act('residual stream [M, D]', M * D, L + 1);

  // Kept activations: one set per layer, or one shared set (evaluation, gradient checkpointing).
  const sets = p.train && !p.checkpointing ? L : 1;
  act('activations [M, D]', M * D, 3 * sets); // xn1, hMid, xn2
  act('activations [M, Q]', M * Q, 2 * sets); // q, o
  act('activations [M, KV]', M * KV, 2 * sets); // k, v
  act('activations [M, I]', M * I, 3 * sets); // gate, up, act
  act('norm / softmax statistics', M, 2 * sets); // rstd1, rstd2
  act('norm / softmax statistics', B * H * T, sets); // lse
  act('LoRA activations [M, r]', M * p.r, p.targets * sets); // per module, or [M, width·r] per group: the same bytes
  const qkNorm = !!cfg.architecture.norms.q;
  const outputNorms = !!cfg.architecture.norms.attnOut;
  if (qkNorm) {
    act('activations [M, Q]', M * Q, sets); // q before its norm
    act('activations [M, KV]', M * KV, sets); // k before its norm
    act('norm / softmax statistics', M * H, sets); // rstd of q per head
    act('norm / softmax statistics', M * cfg.numKvHeads, sets); // rstd of k per head
  }
  if (outputNorms) {
    act('activations [M, D]', M * D, 2 * sets); // o_proj and down_proj outputs before their norms
    act('norm / softmax statistics', M, 2 * sets);
  }
  const qOut = (cfg.attentionOutputGate ? 2 : 1) * Q;
  if (cfg.attentionOutputGate) {
    act('activations [M, Q]', M * qOut, sets); // qg: q_proj's query and gate halves
    act('activations [M, Q]', M * Q, sets); // o·sigmoid(gate)
  }
  const gdn = cfg.linearAttention ? gdnLayerDims(cfg.linearAttention) : null;
  const linearLayers = cfg.layerTypes.filter((_, i) => layerMixer(cfg, i).kind === 'gated_delta_net').length;
  if (gdn && linearLayers > 0) {
    // causal-lm.ts: the mixer's activations per linear layer (one shared set when the pass shares acts), one scratch.
    plan(list, prefix, gdnActsPlan(gdn, B, T), p.train && !p.checkpointing ? linearLayers : 1);
    plan(list, prefix, gdnScratchPlan(gdn, B, T, p.train), 1);
  }

  if (p.nf4ScratchWeights > 0) list.add('activations', `${prefix}NF4 projection decoded to f16`, Math.ceil(p.nf4ScratchWeights / 2) * 4);
  act('final norm', M * D);
  act('norm / softmax statistics', M); // final rstd
  const rows = logitsChunkRows(M, V, p.logitsChunkBytes, D);
  list.add('logits', `${prefix}logits chunk [rows, V]`, rows * V * 4);

  if (!p.train) return;
  const slices = lmHeadSplitSlices(rows, D, V, p.lmHeadSplitK);
  if (slices > 1) act('lm_head split-K partial sums [S, rows, D]', slices * rows * D);
  act('backward [M, D]', M * D, 3); // d_final_norm, d_stream, dxn
  act('backward [M, Q]', M * Q, 2); // dO, dq
  act('backward [M, KV]', M * KV, 2); // dk, dv
  act('backward [M, I]', M * I, 3); // da, dg, du
  act('norm / softmax statistics', B * H * T); // Dsum
  act('LoRA gradients of a group [M, width·r]', M * p.r * p.groupWidth); // dLoraH
  act('backward LoRA scratch', loraScratchFloats(M, p.r, { D, Q, KV, I, qOut, gdn })); // loraTmp (allocated even without dropout)
  if (cfg.attentionOutputGate) {
    act('backward [M, Q]', M * qOut); // dqg
    act('backward [M, Q]', M * Q); // d(o·sigmoid(gate))
  }
  if (qkNorm) {
    act('backward [M, Q]', M * Q); // dq before the norm
    act('backward [M, KV]', M * KV);
  }
  if (outputNorms) act('backward [M, D]', M * D); // d of a block output before its norm
  if (p.checkpointing) act('recomputed layer output [M, D]', M * D);
}

/** A declared buffer plan (buffer-plan.ts), each buffer under its group, `count` times. */
function plan(list: BufferList, prefix: string, buffers: readonly PlannedBuffer[], count: number): void {
  for (const b of buffers) list.add('activations', prefix + b.group, plannedBytes(b), count);
}

/** The most weights of one projection: what causal-lm.ts's NF4 → f16 scratch holds. */
function largestProjection(cfg: ModelConfig): number {
  return Math.max(...modelLoraModules(cfg).map((m) => moduleShape(cfg, m)).map(([out, inF]) => out * inF));
}

function passShape(cfg: ModelConfig, s: TrainingMemorySettings, train: boolean, targets: number): PassShape {
  return {
    B: s.batchSize,
    T: s.seqLen,
    train,
    checkpointing: train && s.gradientCheckpointing,
    r: s.lora.r,
    targets,
    groupWidth: loraGroupWidth(s.lora.targets),
    dropout: s.lora.dropout,
    logitsChunkBytes: s.logitsChunkBytes ?? DEFAULT_LOGITS_CHUNK_BYTES,
    lmHeadSplitK: s.lmHeadSplitK,
    nf4ScratchWeights: s.quant === 'nf4' && s.nf4Decode === 'f16-scratch' ? largestProjection(cfg) : 0,
    prefix: train ? '' : 'evaluation: ',
  };
}

function checkShape(s: TrainingMemorySettings): void {
  for (const [name, v] of [['batchSize', s.batchSize], ['seqLen', s.seqLen]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`estimateTrainingMemory: ${name} must be a positive integer, got ${v}`);
  }
}

/** QLoRA (quant 'nf4') or LoRA on a 16/32-bit base: what the engine allocates for a training run. */
export function estimateTrainingMemory(cfg: ModelConfig, s: TrainingMemorySettings): MemoryEstimate {
  checkShape(s);
  const list = new BufferList();
  addBase(list, cfg, s.quant, s.embedDtypeBytes, s.maxPositions ?? DEFAULT_MAX_POSITIONS);
  const n = loraLayout(cfg, s.lora).totalFloats;
  list.add('lora', 'LoRA parameters', n * 4);
  list.add('lora', 'LoRA gradients', n * 4);
  list.add('optimizer', 'AdamW moments (m, v)', n * 4, 2);
  list.add('optimizer', 'optimizer scratch', Math.ceil(n / REDUCE_CHUNK) * 4);
  list.add('optimizer', 'optimizer scratch', 20); // lr, bias corrections, micro-batch count, a loss sum (+4 bytes per extra micro-batch)
  list.add('optimizer', 'optimizer scratch', 4); // Σg²
  list.add('optimizer', 'optimizer scratch', 4); // the refused-step latch
  // allocLayerActs: LoRA activations for the targets the model has (a Llama has no in_proj_qkv).
  const targets = modelLoraModules(cfg).filter((m) => s.lora.targets.includes(m)).length;
  addPass(list, cfg, passShape(cfg, s, true, targets));
  if (s.evaluation) addPass(list, cfg, passShape(cfg, s, false, targets));
  return list.summarize(s, s.quant === 'nf4' ? 'qlora' : 'lora');
}

/** LoRA on a 16-bit base, same run otherwise: the Learn view's comparison with QLoRA. */
export function estimate16bitLoraMemory(cfg: ModelConfig, s: Omit<TrainingMemorySettings, 'quant'>): MemoryEstimate {
  return estimateTrainingMemory(cfg, { ...s, quant: 'f16' });
}

/** Every weight of the model, as full fine-tuning trains them. */
export function modelParameterCount(cfg: ModelConfig): number {
  const { vocabSize: V, hiddenSize: D, numLayers: L } = cfg;
  let layers = 0;
  for (let layer = 0; layer < L; layer++) {
    for (const [role] of layerNorms(cfg, layer)) layers += normWidth(cfg, role);
    for (const m of layerLoraModules(cfg, layer)) {
      const [out, inF] = moduleShape(cfg, m);
      layers += out * inF + (hasBias(cfg, m) ? out : 0);
    }
    if (cfg.linearAttention && layerMixer(cfg, layer).kind === 'gated_delta_net') {
      const shapes = gdnTensorShapes(cfg.linearAttention);
      for (const t of GDN_TENSORS) layers += shapes[t].reduce((a, b) => a * b, 1);
    }
  }
  return layers + D + V * D * (cfg.tieWordEmbeddings ? 1 : 2);
}

/**
 * Full fine-tuning in mixed precision's usual accounting: f32 master weights (4 bytes/param), f32
 * gradients (4) and AdamW m, v (8) = 16 bytes per parameter, plus the activations of the same pass
 * without the LoRA buffers. Not something this engine runs; it is the Learn view's baseline.
 */
export function estimateFullFinetuneMemory(
  cfg: ModelConfig,
  s: Pick<TrainingMemorySettings, 'batchSize' | 'seqLen' | 'gradientCheckpointing' | 'logitsChunkBytes' | 'maxPositions'>,
): MemoryEstimate {
  const settings: TrainingMemorySettings = {
    ...s,
    quant: 'f32',
    embedDtypeBytes: 4,
    lora: { r: 1, alpha: 1, dropout: 0, targets: [...LORA_MODULES], rslora: false },
  };
  checkShape(settings);
  const list = new BufferList();
  addBase(list, cfg, 'f32', 4, s.maxPositions ?? DEFAULT_MAX_POSITIONS);
  const P = modelParameterCount(cfg);
  list.add('optimizer', 'gradients (f32)', P * 4);
  list.add('optimizer', 'AdamW moments (m, v)', P * 4, 2);
  addPass(list, cfg, { ...passShape(cfg, settings, true, 0), r: 0, dropout: 0 });
  return list.summarize(settings, 'full');
}

export interface DeviceLimits {
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
}

export type FitCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** ADAPTER_LIMITS: one buffer exceeds a WebGPU limit; OUT_OF_MEMORY: the total exceeds the hint. */
      readonly code: 'ADAPTER_LIMITS' | 'OUT_OF_MEMORY';
      readonly message: string;
      /** What to change, most effective first. */
      readonly suggestions: string[];
    };

const MiB = 2 ** 20;
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** What shrinks the biggest buffer, by what it is. */
function bufferSuggestions(e: MemoryEstimate): string[] {
  const label = e.largestBuffer.label;
  const s = e.settings;
  if (label.includes('[M,')) return ['reduce the batch size', 'reduce the sequence length'];
  if (label.includes('logits')) return ['reduce the logits chunk size'];
  if (label.startsWith('LoRA') || label.startsWith('AdamW')) return ['lower the LoRA rank r', 'target fewer modules'];
  if (label.endsWith('NF4 projection decoded to f16')) return ["decode NF4 in the matmul tiles (nf4Decode 'in-tile': no scratch)", 'choose a smaller model'];
  if (label === 'embedding' || label === 'lm_head') return ['choose a smaller model (this GPU cannot bind its embedding as one buffer)'];
  if (s.quant !== 'nf4') return ['use NF4 (QLoRA) for the base weights'];
  return ['choose a smaller model'];
}

/** What shrinks the total, biggest lever first, given what the run already does. */
function totalSuggestions(e: MemoryEstimate, available: number): string[] {
  const s = e.settings;
  const full = e.kind === 'full';
  const activationFixes: string[] = [];
  // Checkpointing keeps one layer's activations instead of L: the biggest lever when activations dominate.
  if (!full && !s.gradientCheckpointing) activationFixes.push('enable gradient checkpointing');
  if (s.batchSize > 1) activationFixes.push(`reduce the batch size (now ${s.batchSize}; gradient accumulation keeps the effective batch)`);
  if (s.seqLen > 1) activationFixes.push(`reduce the sequence length (now ${s.seqLen})`);
  const weightFixes: string[] = [];
  if (!full && s.quant !== 'nf4') weightFixes.push(`use NF4 for the base weights (QLoRA; now ${s.quant})`);
  if (!full && s.lora.r > 4) weightFixes.push(`lower the LoRA rank r (now ${s.lora.r})`);
  const activationHeavy = e.activations + e.logits >= e.base;
  const out = activationHeavy ? [...activationFixes, ...weightFixes] : [...weightFixes, ...activationFixes];
  if (e.base > available) out.unshift(`choose a smaller model (its weights alone need ${formatBytes(e.base)})`);
  return out;
}

/**
 * Whether the run fits: the largest buffer within the adapter's maxBufferSize and
 * maxStorageBufferBindingSize (every buffer is bound whole by some kernel), and the total within
 * `deviceMemoryHint` bytes when one is known (WebGPU does not report device memory; gpu/memory-probe.ts
 * measures it). `hintWords` says where the hint came from, for the message ("the 8.00 GiB available").
 */
export function checkFits(estimate: MemoryEstimate, limits: DeviceLimits, deviceMemoryHint?: number, hintWords?: string): FitCheck {
  const biggest = estimate.largestBuffer;
  const bindLimit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  if (biggest.bytes > bindLimit) {
    const which = limits.maxBufferSize <= limits.maxStorageBufferBindingSize ? 'maxBufferSize' : 'maxStorageBufferBindingSize';
    const suggestions = bufferSuggestions(estimate);
    return {
      ok: false,
      code: 'ADAPTER_LIMITS',
      message:
        `The largest buffer, ${biggest.label}, needs ${formatBytes(biggest.bytes)}, but this GPU allows ${formatBytes(bindLimit)} ` +
        `(${which}). To fit: ${suggestions.join(', or ')}.`,
      suggestions,
    };
  }
  if (deviceMemoryHint !== undefined && estimate.total > deviceMemoryHint) {
    const suggestions = totalSuggestions(estimate, deviceMemoryHint);
    const top = estimate.breakdown.slice(0, 3).map((b) => `${b.label} ${formatBytes(b.bytes)}`).join(', ');
    return {
      ok: false,
      code: 'OUT_OF_MEMORY',
      message:
        `This run needs about ${formatBytes(estimate.total)} of GPU memory (${top}, …), more than ${hintWords ?? `the ${formatBytes(deviceMemoryHint)} available`}. ` +
        `To fit: ${suggestions.join('; ')}.`,
      suggestions,
    };
  }
  return { ok: true };
}
