// A training checkpoint as a folder, laid out as Hugging Face's Trainer lays out `checkpoint-<step>/`
// for a PEFT model: the adapter (adapter_model.safetensors + adapter_config.json, loadable by
// PeftModel.from_pretrained on its own), the optimizer state, the RNG state, the run's settings and
// trainer_state.json with the log history. Where the Trainer pickles (optimizer.pt, rng_state.pth,
// training_args.bin) this writes safetensors and JSON. Everything a run needs to continue exactly
// where it stopped is here: parameters, AdamW moments and step, data position, early-stopping state,
// history. Pure: the host (CLI, page) does the file access.
import { QloraError } from '../errors';
import type { RunCheckpoint, HistoryPoint } from '../engine/training-run';
import type { RunSettings } from '../engine/run-settings';
import { validateSettings } from '../engine/run-settings';
import type { LoraLayout, LoraSettings } from '../engine/lora';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, parseAdapterConfig, readAdapterWeights } from '../engine/peft-adapter';
import { SafetensorsFile } from '../formats/safetensors';
import { writeSafetensors } from '../formats/safetensors-write';
import { adapterFiles } from './adapter-bundle';
import type { AdapterCardInfo } from './adapter-bundle';

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const RNG_STATE_FILE = 'rng_state.json';
export const TRAINING_ARGS_FILE = 'training_args.json';
export const CHECKPOINT_PREFIX = 'checkpoint-';

/** One entry of `log_history`: a training step's, an evaluation's, or the run's summary at the end. */
export type LogEntry = Record<string, number>;

/** What a checkpoint is checked against before a run continues from it. */
export interface CheckpointData {
  /** examplesFingerprint of the train and validation examples. */
  readonly fingerprint: string;
  readonly trainExamples: number;
  readonly valExamples: number;
}

/**
 * The history as the Trainer logs it with logging_steps = 1: per step {loss, learning_rate,
 * grad_norm, epoch, step} (plus num_tokens and step_ms), and {eval_loss, epoch, step} after each
 * evaluation. Plot `loss` and `eval_loss` against `step`.
 */
export function logHistory(history: readonly HistoryPoint[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const h of history) {
    const epoch: LogEntry = h.epoch !== undefined ? { epoch: h.epoch } : {};
    const gradNorm: LogEntry = h.gradNorm !== undefined ? { grad_norm: h.gradNorm } : {};
    out.push({ ...epoch, ...gradNorm, learning_rate: h.lr, loss: h.loss, num_tokens: h.tokens, step: h.step, step_ms: h.ms });
    if (h.valLoss !== undefined) out.push({ ...epoch, eval_loss: h.valLoss, step: h.step });
  }
  return out;
}

/** The history back from `log_history` (summary entries, without a `loss` or `eval_loss`, are skipped). */
export function historyFromLog(log: readonly LogEntry[], where: string): HistoryPoint[] {
  const byStep = new Map<number, HistoryPoint>();
  for (const e of log) {
    if (typeof e.loss === 'number' && typeof e.step === 'number') {
      const p: HistoryPoint = { step: e.step, loss: e.loss, lr: e.learning_rate, tokens: e.num_tokens ?? 0, ms: e.step_ms ?? 0 };
      if (e.grad_norm !== undefined) p.gradNorm = e.grad_norm;
      if (e.epoch !== undefined) p.epoch = e.epoch;
      byStep.set(e.step, p);
    }
  }
  for (const e of log) {
    if (typeof e.eval_loss !== 'number') continue;
    const p = byStep.get(e.step);
    if (!p) throw new QloraError('CONFIG_INVALID', `${where}: log_history has an evaluation at step ${e.step} but no training entry for that step.`);
    p.valLoss = e.eval_loss;
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** trainer_state.json: the Trainer's TrainerState fields, the data position and what was trained on. */
export function trainerState(c: RunCheckpoint, settings: RunSettings, data: CheckpointData, summary?: LogEntry): Record<string, unknown> {
  const last = c.history[c.history.length - 1];
  return {
    best_global_step: null,
    best_metric: c.bestValLoss,
    best_model_checkpoint: null,
    epoch: last?.epoch ?? 0,
    eval_steps: settings.evalEvery,
    global_step: c.step,
    is_hyper_param_search: false,
    is_local_process_zero: true,
    is_world_process_zero: true,
    log_history: [...logHistory(c.history), ...(summary ? [summary] : [])],
    logging_steps: 1,
    max_steps: c.totalSteps,
    num_input_tokens_seen: c.history.reduce((n, h) => n + h.tokens, 0),
    num_train_epochs: Math.ceil(settings.epochs),
    save_steps: settings.checkpointEvery,
    stateful_callbacks: {
      EarlyStoppingCallback: {
        args: { early_stopping_patience: settings.patience, early_stopping_threshold: 0 },
        attributes: { early_stopping_patience_counter: c.evalsWithoutImprovement },
      },
    },
    total_flos: 0,
    train_batch_size: settings.batchSize,
    trial_name: null,
    trial_params: null,
    // Not in the Trainer's state (it re-derives them by replaying the data loader): where the next
    // batch starts, the training time so far, and which examples the run trains and validates on.
    data_position: c.position,
    elapsed_ms: c.elapsedMs,
    data: data,
  };
}

/** Every file of `checkpoint-<step>/` as bytes. */
export function checkpointFiles(
  c: RunCheckpoint, layout: LoraLayout, settings: RunSettings, data: CheckpointData, baseModel: string | null, card: AdapterCardInfo = {},
): Record<string, Uint8Array> {
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');
  return {
    ...adapterFiles(layout, c.params, baseModel, { ...card, steps: c.step }),
    // Flat, in the adapter's parameter order (the layout of adapter_config.json): exact f32 bytes.
    [OPTIMIZER_FILE]: writeSafetensors([
      { name: 'exp_avg', dtype: 'F32', shape: [c.m.length], data: c.m },
      { name: 'exp_avg_sq', dtype: 'F32', shape: [c.v.length], data: c.v },
    ]),
    // Every random draw is a function of the seed and a counter, so this (and the step) is the RNG state.
    [RNG_STATE_FILE]: json({ seed: settings.seed, dropout: 'deriveSeed(seed, step * 4096 + micro-batch)', shuffle: 'deriveSeed(seed, epoch)', next_step: c.step + 1 }),
    [TRAINING_ARGS_FILE]: json(settings),
    [TRAINER_STATE_FILE]: json(trainerState(c, settings, data)),
  };
}

export interface CheckpointHead {
  readonly settings: RunSettings;
  readonly lora: LoraSettings;
  readonly data: CheckpointData;
  readonly step: number;
}

type ReadFile = (name: string) => Uint8Array;

function readJson(read: ReadFile, name: string, where: string): Record<string, unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(read(name))) as Record<string, unknown>;
  } catch (e) {
    throw new QloraError('CONFIG_INVALID', `${where}/${name} cannot be read as JSON (${(e as Error).message}). Resume from another checkpoint.`);
  }
}

/** The settings, LoRA shape and data identity of a checkpoint: what is needed before the model loads. */
export function readCheckpointHead(read: ReadFile, where: string): CheckpointHead {
  const state = readJson(read, TRAINER_STATE_FILE, where);
  const settings = validateSettings(readJson(read, TRAINING_ARGS_FILE, where) as unknown as RunSettings);
  const { settings: lora } = parseAdapterConfig(readJson(read, ADAPTER_CONFIG_FILE, where), `${where}/${ADAPTER_CONFIG_FILE}`);
  const data = state.data as CheckpointData | undefined;
  if (!data || typeof data.fingerprint !== 'string' || typeof state.global_step !== 'number') {
    throw new QloraError('CONFIG_INVALID', `${where}/${TRAINER_STATE_FILE} lacks global_step or the data it was trained on; it was not written by qlora train. Resume from a folder qlora train wrote.`);
  }
  return { settings, lora, data, step: state.global_step };
}

/** The whole checkpoint, for a run on `layout` (the adapter's shapes on the loaded model). */
export function readCheckpoint(read: ReadFile, where: string, layout: LoraLayout): RunCheckpoint {
  const state = readJson(read, TRAINER_STATE_FILE, where);
  const params = readAdapterWeights(new SafetensorsFile(read(ADAPTER_WEIGHTS_FILE), `${where}/${ADAPTER_WEIGHTS_FILE}`), layout);
  const opt = new SafetensorsFile(read(OPTIMIZER_FILE), `${where}/${OPTIMIZER_FILE}`);
  const m = opt.float32('exp_avg');
  const v = opt.float32('exp_avg_sq');
  if (m.length !== params.length || v.length !== params.length) {
    throw new QloraError('CONFIG_INVALID', `${where}/${OPTIMIZER_FILE} holds ${m.length} and ${v.length} moments for an adapter of ${params.length} parameters. Resume from another checkpoint.`);
  }
  const counter = (state.stateful_callbacks as { EarlyStoppingCallback?: { attributes?: { early_stopping_patience_counter?: number } } } | undefined)
    ?.EarlyStoppingCallback?.attributes?.early_stopping_patience_counter ?? 0;
  return {
    step: state.global_step as number,
    totalSteps: state.max_steps as number,
    position: state.data_position as RunCheckpoint['position'],
    params,
    m,
    v,
    history: historyFromLog(state.log_history as LogEntry[], `${where}/${TRAINER_STATE_FILE}`),
    bestValLoss: (state.best_metric as number | null) ?? null,
    evalsWithoutImprovement: counter,
    elapsedMs: (state.elapsed_ms as number | undefined) ?? 0,
  };
}
