// `qlora train`'s options and the RunSettings they make: the page's settings under the names people
// know from Hugging Face's Trainer, with the page's defaults, checked by the page's validator.
import { QloraError } from '../errors';
import type { OptionSpec, Parsed } from './args';
import { DEFAULT_SETTINGS, validateSettings } from '../engine/run-settings';
import type { RunSettings } from '../engine/run-settings';
import { DATASET_FORMATS } from '../data/records';
import type { DatasetFormat } from '../data/records';
import { SCHEDULERS } from '../engine/schedule';
import type { SchedulerName } from '../engine/schedule';
import { BASE_QUANTS } from '../engine/base-weights';
import type { BaseQuant } from '../engine/base-weights';
import { parseTargets } from '../engine/lora';
import { parseColumnMapping } from '../data/columns';

const D = DEFAULT_SETTINGS;

/** The option of each setting the CLI takes, so the validator's messages name the option. */
const OPTION_OF: Partial<Record<keyof RunSettings, string>> = {
  model: 'model', data: 'data', format: 'format', columns: 'columns', limit: 'limit', shuffle: 'no-shuffle', valSplit: 'val-split', valMax: 'val-max', maxLength: 'max-length',
  batchSize: 'batch-size', gradAccum: 'grad-accum', steps: 'steps', epochs: 'epochs', lr: 'lr', scheduler: 'scheduler', warmup: 'warmup',
  weightDecay: 'weight-decay', maxGradNorm: 'max-grad-norm', loraR: 'lora-r', loraAlpha: 'lora-alpha', loraDropout: 'lora-dropout',
  target: 'target', rslora: 'rslora', quant: 'quant', gradientCheckpointing: 'gradient-checkpointing', seed: 'seed',
  evalEvery: 'eval-every', checkpointEvery: 'checkpoint-every', patience: 'patience', initAdapter: 'init-adapter',
};

/** --columns, for train and eval alike. */
export const COLUMNS_OPTION: OptionSpec = { type: 'string', valueName: 'FIELD=COL,…', help: "which dataset column holds each field, e.g. instruction=question,output=answer (fields: instruction, input, output, messages, prompt, completion, text)" };

export const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', valueName: 'DIR|URL', help: 'model folder or http(s) base URL (Hub layout)' },
  data: { type: 'string', valueName: 'FILE|URL', help: 'dataset: a JSON, JSONL, CSV or Parquet file, an http(s) URL, or hf://datasets/owner/name[:split]' },
  out: { type: 'string', valueName: 'DIR', help: 'output folder: the adapter, trainer_state.json, checkpoint-<step>/ folders' },
  format: { type: 'string', help: 'record format (detected when omitted)', choices: DATASET_FORMATS },
  columns: COLUMNS_OPTION,
  limit: { type: 'int', help: 'keep the first N records' },
  'no-shuffle': { type: 'flag', help: 'keep file order (default: shuffle each epoch)' },
  'skip-invalid': { type: 'flag', help: 'skip malformed records instead of stopping' },
  'val-split': { type: 'number', help: `fraction of the examples held out for validation, none below 10 (default ${D.valSplit})` },
  'val-max': { type: 'int', help: `at most this many validation examples; the rest of the split trains (default ${D.valMax})` },
  'max-length': { type: 'int', help: `truncate examples to this many tokens (default ${D.maxLength}, or the model's context when shorter)` },
  'batch-size': { type: 'int', help: `examples per micro-batch (default ${D.batchSize})` },
  'grad-accum': { type: 'int', help: `micro-batches per optimizer step (default ${D.gradAccum})` },
  steps: { type: 'int', help: 'optimizer steps (default: from --epochs)' },
  epochs: { type: 'number', help: `passes over the training examples, when --steps is not given (default ${D.epochs})` },
  lr: { type: 'number', help: `peak learning rate (default ${D.lr})` },
  scheduler: { type: 'string', help: `learning-rate schedule (default ${D.scheduler})`, choices: SCHEDULERS },
  warmup: { type: 'int', help: `warmup steps (default ${D.warmup})` },
  'weight-decay': { type: 'number', help: `AdamW weight decay (default ${D.weightDecay})` },
  'max-grad-norm': { type: 'number', help: `gradient clipping norm, 0 = off (default ${D.maxGradNorm})` },
  'lora-r': { type: 'int', help: `LoRA rank (default ${D.loraR})` },
  'lora-alpha': { type: 'number', help: `LoRA alpha (default ${D.loraAlpha})` },
  'lora-dropout': { type: 'number', help: `dropout on the LoRA input (default ${D.loraDropout})` },
  target: { type: 'string', valueName: 'MODULES', help: 'target modules: q_proj,v_proj,… or all-linear / attention (default all-linear)' },
  rslora: { type: 'flag', help: 'scale by alpha/√r (rsLoRA)' },
  quant: { type: 'string', help: `base precision (default ${D.quant})`, choices: BASE_QUANTS },
  'init-adapter': { type: 'string', valueName: 'DIR', help: 'continue from a PEFT adapter folder' },
  'gradient-checkpointing': { type: 'flag', help: 'recompute activations in the backward pass (less memory)' },
  seed: { type: 'int', help: `seed for LoRA init, split, shuffling and dropout (default ${D.seed})` },
  'eval-every': { type: 'int', help: `validation loss every N steps and at the end (default ${D.evalEvery})` },
  patience: { type: 'int', help: `stop after N evaluations without a better validation loss, 0 = never (default ${D.patience})` },
  'eval-samples': { type: 'int', help: 'validation records scored with BLEU / ROUGE at the end, 0 = none (default 20)' },
  'eval-max-new-tokens': { type: 'int', help: 'tokens generated per scored record (default 64)' },
  'checkpoint-every': { type: 'int', help: 'write --out/checkpoint-<step>/ every N steps and at the end (default: none)' },
  resume: { type: 'string', optionalValue: 'DIR', help: 'continue from the newest checkpoint in --out, or from DIR (a checkpoint-<step> folder)' },
};

/** The page's evaluation panel's defaults. */
export const EVAL_SAMPLES_DEFAULT = 20;
export const EVAL_MAX_NEW_TOKENS_DEFAULT = 64;

const num = (p: Parsed, name: string) => p[name] as number | undefined;

/**
 * The run's settings from the options, validated as the page validates its own. `maxLength` is the
 * requested one or the default; the caller caps it to the model's context once config.json is read.
 */
export function settingsFromOptions(p: Parsed): RunSettings {
  const s: RunSettings = {
    ...D,
    model: p.model as string,
    data: p.data as string,
    format: (p.format as DatasetFormat | undefined) ?? 'auto',
    columns: p.columns ? parseColumnMapping(p.columns as string) : {},
    limit: num(p, 'limit') ?? null,
    shuffle: !p['no-shuffle'],
    valSplit: num(p, 'val-split') ?? D.valSplit,
    valMax: num(p, 'val-max') ?? D.valMax,
    maxLength: num(p, 'max-length') ?? D.maxLength,
    batchSize: num(p, 'batch-size') ?? D.batchSize,
    gradAccum: num(p, 'grad-accum') ?? D.gradAccum,
    steps: num(p, 'steps') ?? null,
    epochs: num(p, 'epochs') ?? D.epochs,
    lr: num(p, 'lr') ?? D.lr,
    scheduler: (p.scheduler as SchedulerName | undefined) ?? D.scheduler,
    warmup: num(p, 'warmup') ?? D.warmup,
    weightDecay: num(p, 'weight-decay') ?? D.weightDecay,
    maxGradNorm: num(p, 'max-grad-norm') ?? D.maxGradNorm,
    loraR: num(p, 'lora-r') ?? D.loraR,
    loraAlpha: num(p, 'lora-alpha') ?? D.loraAlpha,
    loraDropout: num(p, 'lora-dropout') ?? D.loraDropout,
    target: p.target ? parseTargets(p.target as string) : [...D.target],
    rslora: !!p.rslora,
    quant: (p.quant as BaseQuant | undefined) ?? D.quant,
    gradientCheckpointing: !!p['gradient-checkpointing'],
    seed: num(p, 'seed') ?? D.seed,
    evalEvery: num(p, 'eval-every') ?? D.evalEvery,
    // Without --checkpoint-every no folder is written, but the run still reads its adapter back (and
    // checks it) as often as the page does, so the two hosts take their steps in the same rhythm.
    checkpointEvery: num(p, 'checkpoint-every') ?? D.checkpointEvery,
    patience: num(p, 'patience') ?? D.patience,
    initAdapter: (p['init-adapter'] as string | undefined) ?? null,
  };
  try {
    return validateSettings(s);
  } catch (e) {
    const m = e instanceof QloraError ? /^Setting "(\w+)": (.*)$/s.exec(e.message) : null;
    const option = m ? OPTION_OF[m[1] as keyof RunSettings] : undefined;
    if (m && option) throw new QloraError('ARGUMENT_INVALID', `--${option} ${m[2]}`);
    throw e;
  }
}

/** The settings two runs differ in (to say which options a resume ignores). */
export function settingsDiff(stored: RunSettings, b: RunSettings, skip: readonly (keyof RunSettings)[]): string[] {
  // A checkpoint written before a setting existed ran with its default.
  const a: RunSettings = { ...D, ...stored };
  return (Object.keys(a) as (keyof RunSettings)[])
    .filter((k) => !skip.includes(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `--${OPTION_OF[k] ?? k} ${JSON.stringify(b[k])} (checkpoint: ${JSON.stringify(a[k])})`);
}
