// `qlora train`'s options and the RunSettings they make: the page's settings under the names people
// know from Hugging Face's Trainer, with the page's defaults (or a preset's recipe, --preset, which the
// other options override), checked by the page's validator.
import { QloraError } from '../errors';
import type { OptionSpec, Parsed } from './args';
import { DEFAULT_SETTINGS, validateSettings } from '../engine/run-settings';
import type { RunSettings } from '../engine/run-settings';
import { DATASET_FORMATS } from '../data/records';
import { SCHEDULERS } from '../engine/schedule';
import { BASE_QUANTS } from '../engine/base-weights';
import { parseTargets } from '../engine/lora';
import { parseColumnMapping } from '../data/columns';
import { applyPreset, findPreset, RUN_PRESETS } from '../engine/run-presets';

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
  preset: { type: 'string', valueName: 'NAME', help: 'start from a named recipe (the presets below); the other options override it', choices: RUN_PRESETS.map((p) => p.id) },
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

/** `qlora train --help`'s list of the presets, each with its one line on why, wrapped to the terminal. */
export function presetNotes(width = 100): string {
  const indent = ' '.repeat(Math.max(...RUN_PRESETS.map((p) => p.id.length)) + 4);
  const lines = RUN_PRESETS.map((p) => `  ${p.id.padEnd(indent.length - 2)}${wrap(p.why, width - indent.length).join(`\n${indent}`)}`);
  return `Presets (--preset NAME sets the training and LoRA options; any option given as well overrides it.
--model is still required: chat-assistant's recipe is written for Qwen3-0.6B):\n${lines.join('\n')}\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/** The page's evaluation panel's defaults. */
export const EVAL_SAMPLES_DEFAULT = 20;
export const EVAL_MAX_NEW_TOKENS_DEFAULT = 64;

const fail = (message: string): never => {
  throw new QloraError('ARGUMENT_INVALID', message);
};

/**
 * The run's settings from the options, validated as the page validates its own. `maxLength` is the
 * requested one or the default; the caller caps it to the model's context once config.json is read.
 */
export function settingsFromOptions(p: Parsed): RunSettings {
  const preset = p.preset === undefined ? undefined : findPreset(p.preset as string)
    ?? fail(`--preset must be one of ${RUN_PRESETS.map((r) => r.id).join(', ')}; got "${p.preset}". Run "qlora train --help" for what each sets.`);
  // The recipe first (a preset that names its model, the chat one, gives way to --model below).
  const b: RunSettings = preset ? applyPreset({ ...D, target: [...D.target] }, preset) : D;
  const s: RunSettings = { ...b, target: [...b.target] };
  const set = s as unknown as Record<string, unknown>;
  // Every option given sets its setting on top (its value typed and checked by the parser). Without
  // --checkpoint-every no folder is written, but checkpointEvery keeps the page's default: the run still
  // reads its adapter back (and checks it) as often as the page does, so both take steps in one rhythm.
  for (const [key, option] of Object.entries(OPTION_OF) as [keyof RunSettings, string][]) {
    const v = p[option];
    if (v === undefined || TRAIN_OPTIONS[option].type === 'flag') continue;
    set[key] = key === 'columns' ? parseColumnMapping(v as string) : key === 'target' ? parseTargets(v as string) : v;
  }
  // The flags: each turns one way only, so a recipe's own choice stays unless the flag says otherwise.
  if (p['no-shuffle']) s.shuffle = false;
  if (p.rslora) s.rslora = true;
  if (p['gradient-checkpointing']) s.gradientCheckpointing = true;
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
