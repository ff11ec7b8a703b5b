// Every setting of a fine-tuning run as plain data, with defaults that carry their reason, validated in
// one place, and read from / written to a page URL (shareable runs). The README documents the names.
import { QloraError } from '../errors';
import type { DatasetFormat } from '../data/records';
import { DATASET_FORMATS } from '../data/records';
import { DEFAULT_VAL_MAX } from '../data/split';
import type { ColumnMapping } from '../data/columns';
import { formatColumnMapping, parseColumnMapping } from '../data/columns';
import type { BaseQuant } from './base-weights';
import { BASE_QUANTS } from './base-weights';
import type { LoraModule } from './lora';
import { LORA_MODULES, parseTargets } from './lora';
import type { SchedulerName } from './schedule';
import { SCHEDULERS } from './schedule';
import { parseMemorySize } from '../gpu/memory-probe';

export interface RunSettings {
  /** 'demo', a Hub id (owner/name), or an http(s) base URL in the Hub layout. */
  model: string;
  revision: string;
  /** Dataset URL; null when the user uploads or pastes one. */
  data: string | null;
  format: DatasetFormat | 'auto';
  /**
   * Which dataset column holds each record field ("instruction" → "question"); empty: the fields'
   * own names. Absent in runs stored before it existed (read as empty).
   */
  columns?: ColumnMapping;
  limit: number | null;
  shuffle: boolean;
  /** Fraction of records held out for validation (none when there are fewer than 10 records). */
  valSplit: number;
  /** At most this many validation examples: every evaluation runs them all, so 10 % of 1M must not. */
  valMax: number;
  maxLength: number;
  batchSize: number;
  gradAccum: number;
  /** Optimizer steps; null: derived from epochs. */
  steps: number | null;
  epochs: number;
  lr: number;
  scheduler: SchedulerName;
  warmup: number;
  weightDecay: number;
  maxGradNorm: number;
  loraR: number;
  loraAlpha: number;
  loraDropout: number;
  target: LoraModule[];
  rslora: boolean;
  quant: BaseQuant;
  gradientCheckpointing: boolean;
  seed: number;
  evalEvery: number;
  checkpointEvery: number;
  /** Early stopping: evaluations without a better validation loss before stopping; 0 = off. */
  patience: number;
  /** Adapter to start from (URL of a PEFT folder), or null for PEFT's fresh init. */
  initAdapter: string | null;
}

export const DEFAULT_SETTINGS: Readonly<RunSettings> = {
  model: 'demo',
  revision: 'main',
  data: null,
  format: 'auto',
  columns: {}, // the records' fields under their own names (instruction, output, messages, …)
  limit: null,
  shuffle: true,
  valSplit: 0.1, // a tenth held out: enough to see overfitting, little taken from training
  valMax: DEFAULT_VAL_MAX, // 200: a loss mean over 200 examples is steady to about 1/√200; each evaluation stays a few seconds
  maxLength: 512, // fits most instruction data; memory grows with it
  batchSize: 4,
  gradAccum: 1,
  steps: null,
  epochs: 1,
  lr: 2e-4, // the QLoRA paper's rate for 7B-13B models
  scheduler: 'constant', // QLoRA paper: constant schedule
  warmup: 0,
  weightDecay: 0, // QLoRA paper / PEFT examples
  maxGradNorm: 0.3, // QLoRA paper
  loraR: 16,
  loraAlpha: 32, // scale alpha/r = 2, the common PEFT choice
  loraDropout: 0.05, // QLoRA paper for models up to 13B
  target: [...LORA_MODULES], // QLoRA paper: all linear layers
  rslora: false,
  quant: 'nf4', // QLoRA: the base in 4-bit NF4 with double quantization
  gradientCheckpointing: false, // on for large models: trades compute for memory
  seed: 0,
  evalEvery: 10,
  checkpointEvery: 10,
  patience: 0,
  initAdapter: null,
};

/** One line each, shown next to the setting. */
export const SETTING_HELP: Record<keyof RunSettings, string> = {
  model: 'The base model: the built-in demo, a Hugging Face id, or a URL serving the Hub file layout.',
  revision: 'Branch, tag or commit of the Hub repository.',
  data: 'URL of the dataset (JSON, JSONL, CSV or Parquet), or a Hub dataset "owner/name" (":split", "/path/file.parquet", "@revision"); or upload / paste one.',
  format: 'Record format: Alpaca, chat messages, prompt/completion or plain text (detected when auto).',
  columns: 'Which column of the dataset holds each field, e.g. instruction=question,output=answer (empty: the fields\' own names).',
  limit: 'Use only the first N records.',
  shuffle: 'Shuffle the examples every epoch (off: file order).',
  valSplit: 'Fraction of records held out to measure validation loss, BLEU and ROUGE-L.',
  valMax: 'At most this many validation examples (the rest of the split trains): each evaluation runs them all.',
  maxLength: 'Examples longer than this many tokens are truncated; memory grows with it.',
  batchSize: 'Examples per forward pass; memory grows with it.',
  gradAccum: 'Forward passes whose gradients add up before each update (a larger effective batch).',
  steps: 'Optimizer updates to run (empty: from epochs).',
  epochs: 'Passes over the training data, when steps is empty.',
  lr: 'Peak learning rate of AdamW (QLoRA paper: 2e-4 for 7B-13B models, 1e-4 for larger ones).',
  scheduler: 'How the learning rate changes over the run after warmup.',
  warmup: 'Steps over which the learning rate ramps up from 0.',
  weightDecay: 'AdamW decoupled weight decay on the adapter weights.',
  maxGradNorm: 'Gradients are scaled down when their global norm exceeds this (0: no clipping).',
  loraR: 'Rank of the adapter matrices: capacity and size grow with it.',
  loraAlpha: 'Adapter scale numerator: the update is multiplied by alpha / r.',
  loraDropout: 'Dropout on the adapter input during training, against overfitting.',
  target: 'Which projections get an adapter: attention only, or all linear layers (QLoRA paper).',
  rslora: 'Rank-stabilized LoRA: scale by alpha / √r instead of alpha / r.',
  quant: 'Precision of the frozen base: NF4 (QLoRA, 4-bit), f16, or f32.',
  gradientCheckpointing: 'Recompute activations in the backward pass: much less memory, about a third slower.',
  seed: 'Seed of the adapter init, shuffling and dropout: the same seed repeats a run.',
  evalEvery: 'Measure validation loss every N steps.',
  checkpointEvery: 'Save adapter, optimizer state and data position every N steps (resume after a reload).',
  patience: 'Stop after N evaluations without a better validation loss (0: never).',
  initAdapter: 'URL of a PEFT adapter folder to continue from.',
};

/**
 * The example length a run uses on `cfg`: `requested` when it fits the model's positions, the model's
 * own context when nothing was asked for and `fallback` is longer (a 512-position model gets 512, not
 * 1024), and a clear refusal up front when the request is longer than the model can place tokens.
 */
export function modelMaxLength(cfg: { maxPositionEmbeddings: number }, requested: number | undefined, fallback: number, what = 'max length'): number {
  const context = cfg.maxPositionEmbeddings;
  if (requested === undefined) return Math.min(fallback, context);
  if (requested > context) {
    throw new QloraError('ARGUMENT_INVALID', `The ${what} ${requested} is longer than this model's context of ${context} positions (max_position_embeddings in config.json). Use at most ${context}; longer examples are truncated to it.`);
  }
  return requested;
}

const fail = (name: string, msg: string): never => {
  throw new QloraError('ARGUMENT_INVALID', `Setting "${name}": ${msg}`);
};

export function validateSettings(s: RunSettings): RunSettings {
  const int = (n: keyof RunSettings, v: number, min: number, max = Infinity) => {
    if (!Number.isInteger(v) || v < min || v > max) fail(n, `must be an integer from ${min}${max < Infinity ? ` to ${max}` : ''}, got ${v}`);
  };
  const num = (n: keyof RunSettings, v: number, min: number, max: number, openMin = false) => {
    if (!Number.isFinite(v) || v < min || v > max || (openMin && v === min)) fail(n, `must be ${openMin ? '>' : '≥'} ${min} and ≤ ${max}, got ${v}`);
  };
  if (!s.model.trim()) fail('model', 'is empty');
  if (s.limit !== null) int('limit', s.limit, 1);
  num('valSplit', s.valSplit, 0, 0.5);
  int('valMax', s.valMax, 1);
  int('maxLength', s.maxLength, 8, 131072);
  int('batchSize', s.batchSize, 1, 4096);
  int('gradAccum', s.gradAccum, 1, 4096);
  if (s.steps !== null) int('steps', s.steps, 1);
  num('epochs', s.epochs, 0, 1000, true);
  num('lr', s.lr, 0, 1, true);
  if (!SCHEDULERS.includes(s.scheduler)) fail('scheduler', `must be one of ${SCHEDULERS.join(', ')}`);
  int('warmup', s.warmup, 0);
  num('weightDecay', s.weightDecay, 0, 10);
  num('maxGradNorm', s.maxGradNorm, 0, 1e6);
  int('loraR', s.loraR, 1, 1024);
  num('loraAlpha', s.loraAlpha, 0, 1e6, true);
  num('loraDropout', s.loraDropout, 0, 0.99);
  if (s.target.length === 0) fail('target', 'needs at least one module');
  if (!BASE_QUANTS.includes(s.quant)) fail('quant', `must be one of ${BASE_QUANTS.join(', ')}`);
  int('seed', s.seed, 0, 2 ** 32 - 1);
  int('evalEvery', s.evalEvery, 1);
  int('checkpointEvery', s.checkpointEvery, 1);
  int('patience', s.patience, 0);
  return s;
}

const FORMATS: readonly string[] = ['auto', ...DATASET_FORMATS];

function bool(name: string, v: string): boolean {
  if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
  return fail(name, `must be 1/0 or true/false, got "${v}"`);
}

function number(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) fail(name, `must be a number, got "${v}"`);
  return n;
}

/**
 * Settings given in the URL on top of the defaults; unknown names are errors (a typo would silently do
 * nothing). Two are the page's, not the run's: `autostart`, and `gpu-memory` (bytes a run may use on
 * this GPU, e.g. 8GB, instead of measuring them; absent: measured).
 */
export function settingsFromQuery(query: URLSearchParams | string, base: RunSettings = DEFAULT_SETTINGS): { settings: RunSettings; autostart: boolean; gpuMemory?: number } {
  const q = typeof query === 'string' ? new URLSearchParams(query) : query;
  const s: RunSettings = { ...base, target: [...base.target] };
  let autostart = false;
  let gpuMemory: number | undefined;
  for (const [name, v] of q) {
    switch (name) {
      case 'autostart': autostart = bool(name, v); break;
      case 'gpu-memory': gpuMemory = parseMemorySize(v); break;
      case 'model': s.model = v; break;
      case 'revision': s.revision = v; break;
      case 'data': s.data = v || null; break;
      case 'initAdapter': s.initAdapter = v || null; break;
      case 'format':
        if (!FORMATS.includes(v)) fail(name, `must be one of ${FORMATS.join(', ')}`);
        s.format = v as RunSettings['format'];
        break;
      case 'columns': s.columns = parseColumnMapping(v); break;
      case 'scheduler': s.scheduler = v as SchedulerName; break;
      case 'quant': s.quant = v as BaseQuant; break;
      case 'target': s.target = parseTargets(v); break;
      case 'shuffle': case 'rslora': case 'gradientCheckpointing': s[name] = bool(name, v); break;
      case 'limit': s.limit = v === '' ? null : number(name, v); break;
      case 'steps': s.steps = v === '' ? null : number(name, v); break;
      case 'valSplit': case 'valMax': case 'maxLength': case 'batchSize': case 'gradAccum': case 'epochs': case 'lr': case 'warmup':
      case 'weightDecay': case 'maxGradNorm': case 'loraR': case 'loraAlpha': case 'loraDropout': case 'seed':
      case 'evalEvery': case 'checkpointEvery': case 'patience':
        s[name] = number(name, v);
        break;
      default:
        fail(name, `is not a known setting. Known: autostart, gpu-memory, ${Object.keys(DEFAULT_SETTINGS).join(', ')}`);
    }
  }
  return gpuMemory === undefined ? { settings: validateSettings(s), autostart } : { settings: validateSettings(s), autostart, gpuMemory };
}

/** The settings that differ from the defaults, as a query string (a shareable link). */
export function settingsToQuery(s: RunSettings, base: RunSettings = DEFAULT_SETTINGS): string {
  const q = new URLSearchParams();
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof RunSettings)[]) {
    const v = s[key];
    const b = base[key];
    if (JSON.stringify(v) === JSON.stringify(b)) continue;
    if (key === 'columns') {
      const text = formatColumnMapping((v ?? {}) as ColumnMapping);
      if (text !== formatColumnMapping((b ?? {}) as ColumnMapping)) q.set(key, text);
      continue;
    }
    if (v === null) q.set(key, '');
    else if (Array.isArray(v)) q.set(key, v.join(','));
    else if (typeof v === 'boolean') q.set(key, v ? '1' : '0');
    else q.set(key, String(v));
  }
  return q.toString();
}
