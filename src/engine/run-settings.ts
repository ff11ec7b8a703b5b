// Every setting of a fine-tuning run as plain data, with defaults that carry their reason, validated in
// one place for the page and the CLI alike. The page's URL form is src/ui/settings-query.ts, its help
// lines src/ui/setting-help.ts; the CLI's options are src/cli/train-options.ts.
import { QloraError } from '../errors';
import type { DatasetFormat } from '../data/records';
import { DEFAULT_VAL_MAX } from '../data/split';
import type { ColumnMapping } from '../data/columns';
import type { BaseQuant } from './base-weights';
import { BASE_QUANTS } from './base-weights';
import type { LoraModule } from './lora';
import { LORA_MODULES } from './lora';
import type { SchedulerName } from './schedule';
import { SCHEDULERS } from './schedule';

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

/** A setting's refusal, in the one form both hosts read: the CLI renames "Setting \"lr\"" to its option. */
export function failSetting(name: string, msg: string): never {
  throw new QloraError('ARGUMENT_INVALID', `Setting "${name}": ${msg}`);
}

export function validateSettings(s: RunSettings): RunSettings {
  const int = (n: keyof RunSettings, v: number, min: number, max = Infinity) => {
    if (!Number.isInteger(v) || v < min || v > max) failSetting(n, `must be an integer from ${min}${max < Infinity ? ` to ${max}` : ''}, got ${v}`);
  };
  const num = (n: keyof RunSettings, v: number, min: number, max: number, openMin = false) => {
    if (!Number.isFinite(v) || v < min || v > max || (openMin && v === min)) failSetting(n, `must be ${openMin ? '>' : '≥'} ${min} and ≤ ${max}, got ${v}`);
  };
  if (!s.model.trim()) failSetting('model', 'is empty');
  if (s.limit !== null) int('limit', s.limit, 1);
  num('valSplit', s.valSplit, 0, 0.5);
  int('valMax', s.valMax, 1);
  int('maxLength', s.maxLength, 8, 131072);
  int('batchSize', s.batchSize, 1, 4096);
  int('gradAccum', s.gradAccum, 1, 4096);
  if (s.steps !== null) int('steps', s.steps, 1);
  num('epochs', s.epochs, 0, 1000, true);
  num('lr', s.lr, 0, 1, true);
  if (!SCHEDULERS.includes(s.scheduler)) failSetting('scheduler', `must be one of ${SCHEDULERS.join(', ')}`);
  int('warmup', s.warmup, 0);
  num('weightDecay', s.weightDecay, 0, 10);
  num('maxGradNorm', s.maxGradNorm, 0, 1e6);
  int('loraR', s.loraR, 1, 1024);
  num('loraAlpha', s.loraAlpha, 0, 1e6, true);
  num('loraDropout', s.loraDropout, 0, 0.99);
  if (s.target.length === 0) failSetting('target', 'needs at least one module');
  if (!BASE_QUANTS.includes(s.quant)) failSetting('quant', `must be one of ${BASE_QUANTS.join(', ')}`);
  int('seed', s.seed, 0, 2 ** 32 - 1);
  int('evalEvery', s.evalEvery, 1);
  int('checkpointEvery', s.checkpointEvery, 1);
  int('patience', s.patience, 0);
  return s;
}
