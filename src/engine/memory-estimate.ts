// GPU memory of a training run, so the app can say "this will not fit, reduce X" before a multi-gigabyte
// download or an out-of-memory loss of the device. Summed from the buffer plans the engine allocates
// from (buffer-plan.ts), not from a description of its own:
//   - baseWeightsPlan (gpu-weights.ts): the frozen base as uploadModelWeights lays it out;
//   - loraParamsPlan / adamMomentsPlan (gpu-lora.ts) and adamwPlan / adamwStepPlan (optimizer.ts);
//   - passPlan (causal-lm.ts) of the training pass, and of the evaluation pass with a validation split:
//     its own buffers, each layer's kept activations (decoder-layer.ts layerActsPlan), the backward
//     scratch (bwdScratchPlan), the logits chunk, the NF4 → f16 scratch.
// Each buffer counts under its plan's group (the page's breakdown) and is rounded as
// GpuContext.createBuffer rounds it. Left out: uniform blocks (256 bytes per dispatch) and the 16-byte
// dummy binding; test/memory-estimate.test.ts checks the rest against ctx.memory on real allocations.
import { DEFAULT_LOGITS_CHUNK_BYTES, passPlan, passPlanBuffers } from './causal-lm';
import type { PassPlanSettings } from './causal-lm';
import type { ModelConfig } from '../formats/model-config';
import type { LoraSettings } from './lora';
import { LORA_MODULES, layerLoraModules, loraLayout, modelLoraModules, moduleShape } from './lora';
import { layerNorms } from './base-weights';
import { layerMixer } from '../formats/checkpoint-names';
import { GDN_TENSORS, gdnTensorShapes } from './mixers/gated-delta-net';
import { normWidth } from '../formats/model-config';
import type { PlannedBuffer } from './buffer-plan';
import { SHARED_GROUPS, planBytes, plannedBytes } from './buffer-plan';
import { baseWeightsPlan, hasBias, nf4WeightPlan } from './gpu-weights';
import { adamMomentsPlan, loraParamsPlan } from './gpu-lora';
import { adamwPlan, adamwStepPlan } from './optimizer';

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

/** Buffer plans summed by memory part and by group. */
class PlanTally {
  private readonly parts: Record<MemoryPart, number> = { base: 0, lora: 0, optimizer: 0, activations: 0, logits: 0 };
  private readonly byGroup = new Map<string, number>();
  private largest: MemoryItem = { label: 'none', bytes: 0 };

  /** Adds every buffer of `plan` to `part` (or the part `part` names for it), its group prefixed by `prefix`. */
  add(part: MemoryPart | ((b: PlannedBuffer) => MemoryPart), plan: readonly PlannedBuffer[], prefix = ''): void {
    for (const b of plan) {
      const bytes = plannedBytes(b);
      const label = prefix + b.group;
      this.parts[typeof part === 'function' ? part(b) : part] += bytes;
      this.byGroup.set(label, (this.byGroup.get(label) ?? 0) + bytes);
      if (bytes > this.largest.bytes) this.largest = { label, bytes };
    }
  }

  summarize(settings: TrainingMemorySettings, kind: MemoryEstimate['kind']): MemoryEstimate {
    const p = this.parts;
    const breakdown = [...this.byGroup].map(([label, bytes]) => ({ label, bytes })).sort((a, b) => b.bytes - a.bytes);
    const total = p.base + p.lora + p.optimizer + p.activations + p.logits;
    return { ...p, total, breakdown, largestBuffer: this.largest, settings, kind };
  }
}

/** Bytes of one NF4 projection of n weights on the GPU: packed codes, absmax codes, nested absmax, code map. */
export function nf4WeightBytes(n: number): number {
  return planBytes(nf4WeightPlan('w', n, 'codes', 'absmax'));
}

/** A pass's buffers count as activations, its logits chunk apart. */
const passPart = (b: PlannedBuffer): MemoryPart => (b.group === SHARED_GROUPS.logits ? 'logits' : 'activations');

/** The most weights of one projection: what an NF4 base's f16 decode scratch holds (decoder-layer.ts nf4ScratchWeights). */
function largestProjection(cfg: ModelConfig): number {
  return Math.max(...modelLoraModules(cfg).map((m) => moduleShape(cfg, m)).map(([out, inF]) => out * inF));
}

/**
 * The pass settings the engine would use for this run. The LoRA activations are laid out per input group
 * without dropout, as on a device that binds the fused LoRA products' buffers (every WebGPU adapter the
 * engine runs on); the bytes are the same either way, only how many buffers hold them differs.
 */
function passSettings(cfg: ModelConfig, s: TrainingMemorySettings, train: boolean, lora: LoraSettings | null): PassPlanSettings {
  return {
    B: s.batchSize,
    T: s.seqLen,
    train,
    opts: {
      gradientCheckpointing: s.gradientCheckpointing,
      logitsChunkBytes: s.logitsChunkBytes ?? DEFAULT_LOGITS_CHUNK_BYTES,
      lmHeadSplitK: s.lmHeadSplitK,
    },
    lora,
    loraGrouped: !!lora && lora.dropout === 0,
    nf4ScratchWeights: s.quant === 'nf4' && s.nf4Decode === 'f16-scratch' ? largestProjection(cfg) : 0,
  };
}

function addPass(t: PlanTally, cfg: ModelConfig, s: PassPlanSettings): void {
  t.add(passPart, passPlanBuffers(passPlan(cfg, s)), s.train ? '' : 'evaluation: ');
}

function checkShape(s: TrainingMemorySettings): void {
  for (const [name, v] of [['batchSize', s.batchSize], ['seqLen', s.seqLen]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`estimateTrainingMemory: ${name} must be a positive integer, got ${v}`);
  }
}

/** QLoRA (quant 'nf4') or LoRA on a 16/32-bit base: what the engine allocates for a training run. */
export function estimateTrainingMemory(cfg: ModelConfig, s: TrainingMemorySettings): MemoryEstimate {
  checkShape(s);
  const t = new PlanTally();
  t.add('base', baseWeightsPlan(cfg, s));
  const n = loraLayout(cfg, s.lora).totalFloats;
  t.add('lora', loraParamsPlan(n));
  t.add('optimizer', [...adamMomentsPlan(n), ...adamwPlan(n), ...adamwStepPlan(1)]); // one micro-batch's loss sum (+4 bytes per extra micro-batch)
  addPass(t, cfg, passSettings(cfg, s, true, s.lora));
  if (s.evaluation) addPass(t, cfg, passSettings(cfg, s, false, s.lora));
  return t.summarize(s, s.quant === 'nf4' ? 'qlora' : 'lora');
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
  const t = new PlanTally();
  t.add('base', baseWeightsPlan(cfg, settings));
  const P = modelParameterCount(cfg);
  t.add('optimizer', [{ name: 'grads', floats: P, group: 'gradients (f32)' }, ...adamMomentsPlan(P)]);
  addPass(t, cfg, passSettings(cfg, settings, true, null));
  return t.summarize(settings, 'full');
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
