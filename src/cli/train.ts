// `qlora train`: fine-tune a LoRA adapter headless, through the page's run loop (engine/training-run.ts)
// and the page's settings check. One JSON line per step on stdout ({"step","loss","lr","tokens","ms"}:
// the loss of that step's batch before its update) and one per evaluation ({"step","eval_loss"}), then
// the BLEU / ROUGE line; progress and problems on stderr. In --out at the end: the adapter and
// trainer_state.json (the log history, as Hugging Face's Trainer writes it); with --checkpoint-every,
// checkpoint-<step>/ folders that --resume continues from exactly.
// Ctrl-C stops after the current step, saves the adapter (and a checkpoint) and exits 130; a second
// Ctrl-C quits at once (130), saving nothing more.
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { QloraError } from '../errors';
import type { Parsed } from './args';
import { requireOpt } from './args';
import { openGpu, loadModel, readAdapterDir, log, readDataset, datasetOptions, checkCliDataset, namingSkipInvalid, logSkipped, datasetProgressLog } from './setup';
import type { LoadedModel } from './setup';
import { claimOutputDir } from './output-dir';
import type { OutputDir } from './output-dir';
import { settingsFromOptions, settingsDiff, EVAL_SAMPLES_DEFAULT, EVAL_MAX_NEW_TOKENS_DEFAULT } from './train-options';
import { checkpointReader, findCheckpoint, writeWholeFolder } from './checkpoint-dir';
import { scoreValidationAnswers } from '../engine/score-generations';
import { describePlainText } from '../data/dataset-text';
import { loadData } from '../app-core/data-state';
import { adapterStart } from '../app-core/adapter-start';
import { examplesFingerprint } from '../data/fingerprint';
import { TrainingRun } from '../engine/training-run';
import type { RunCheckpoint, RunState } from '../engine/training-run';
import type { RunSettings } from '../engine/run-settings';
import { DEFAULT_SETTINGS, modelMaxLength } from '../engine/run-settings';
import { loraLayout } from '../engine/lora';
import { adapterFiles } from '../export/adapter-bundle';
import { CHECKPOINT_PREFIX, TRAINER_STATE_FILE, checkpointFiles, readCheckpoint, readCheckpointHead, trainerState } from '../export/checkpoint-folder';
import type { CheckpointData, CheckpointHead, LogEntry } from '../export/checkpoint-folder';

export { TRAIN_OPTIONS } from './train-options';

/** The exit status of a run Ctrl-C ended (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT = 130;

export async function train(p: Parsed): Promise<number> {
  const cmd = 'train';
  const out = requireOpt<string>(p, 'out', cmd);
  const dataPath = requireOpt<string>(p, 'data', cmd);
  requireOpt<string>(p, 'model', cmd);
  let settings = settingsFromOptions(p);
  const evalSamples = (p['eval-samples'] as number | undefined) ?? EVAL_SAMPLES_DEFAULT;
  const evalMaxNew = (p['eval-max-new-tokens'] as number | undefined) ?? EVAL_MAX_NEW_TOKENS_DEFAULT;
  if (evalSamples < 0) throw new QloraError('ARGUMENT_INVALID', `--eval-samples must be ≥ 0; got ${evalSamples}`);
  if (evalMaxNew < 1) throw new QloraError('ARGUMENT_INVALID', `--eval-max-new-tokens must be ≥ 1; got ${evalMaxNew}`);
  // Before any time is spent on the model: a local --data that is not there.
  if (!/^(hf|https?):\/\//i.test(dataPath) && !existsSync(dataPath)) {
    throw new QloraError('ARGUMENT_INVALID', `--data ${dataPath}: no such file. Give a JSON, JSONL, CSV or Parquet file, an http(s) URL, or hf://datasets/owner/name.`);
  }

  // The output folder is checked and locked before any time is spent on loading or training.
  const output = await claimOutputDir(out);
  const interrupt = new Interrupt();
  try {
    let resume: { dir: string; head: CheckpointHead } | null = null;
    if (p.resume !== undefined) {
      const dir = await findCheckpoint(output.path, p.resume as string);
      const head = readCheckpointHead(checkpointReader(dir), dir);
      // The checkpoint's settings make the run what it was; options that differ are ignored, and said so.
      const ignored = settingsDiff(head.settings, settings, ['model', 'data', 'maxLength']);
      if (ignored.length) log(`note: resuming with the checkpoint's settings; ignored: ${ignored.join(', ')}`);
      // The model and data are found where this command says (a moved folder is fine: the data's fingerprint is checked).
      settings = { ...head.settings, model: settings.model, data: settings.data };
      resume = { dir, head };
      log(`resuming from ${dir} (step ${head.step})`);
    }
    return await trainInto(p, settings, output, resume, interrupt, { evalSamples, evalMaxNew });
  } finally {
    interrupt.dispose();
    await output.release();
  }
}

/** Ctrl-C: the first asks the run to stop after its step; the second quits at once. */
class Interrupt {
  requested = false;
  private run: TrainingRun | null = null;
  private readonly handler = () => {
    if (this.requested || !this.run) {
      log('interrupted again: quitting now');
      process.exit(INTERRUPTED_EXIT);
    }
    this.requested = true;
    this.run.stop();
    log('stopping after this step; the adapter will be saved (Ctrl-C again quits at once)');
  };

  constructor() {
    process.on('SIGINT', this.handler);
  }

  attach(run: TrainingRun): void {
    this.run = run;
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
  }
}

async function trainInto(
  p: Parsed, settings: RunSettings, output: OutputDir, resume: { dir: string; head: CheckpointHead } | null, interrupt: Interrupt,
  evalOpts: { evalSamples: number; evalMaxNew: number },
): Promise<number> {
  const dataPath = settings.data!;
  const dataset = await readDataset(dataPath, datasetOptions(settings.limit ?? undefined));
  const dataOpts = { format: settings.format === 'auto' ? undefined : settings.format, columns: settings.columns ?? {}, limit: settings.limit ?? undefined, onInvalid: p['skip-invalid'] ? 'skip' : 'stop' } as const;
  checkCliDataset(dataset.text, dataset.fileName, dataOpts); // every problem of the file, before the GPU and the model
  const ctx = await openGpu();
  let maxLength = 0; // capped to the model's context once config.json is read
  const model: LoadedModel = await loadModel(ctx, settings.model, settings.quant, (cfg) => (maxLength = modelMaxLength(cfg, p['max-length'] !== undefined || resume ? settings.maxLength : undefined, DEFAULT_SETTINGS.maxLength, '--max-length')));
  settings = { ...settings, maxLength };
  const { files, weights } = model;
  // The page's dataset path (the session's loadData): the same records, examples and seeded split.
  const onInvalid = p['skip-invalid'] ? 'skip' : 'stop';
  const { prepared: data, train, val, valWanted } = namingSkipInvalid(onInvalid, () =>
    loadData(dataset.text, dataset.fileName, files.tokenizer, settings, onInvalid, datasetProgressLog(dataset.fileName)));
  logSkipped(data);
  const dataInfo: CheckpointData = { fingerprint: examplesFingerprint(train, val), trainExamples: train.length, valExamples: val.length };
  log(`data: ${data.examples.length} ${data.format} examples from ${dataPath}${data.syntax === 'text' ? ` (${describePlainText(data.records.length)})` : ''}; ` +
    `${train.length} for training, ${val.length} for validation${valWanted > val.length ? ` (capped by --val-max ${settings.valMax} from ${valWanted}; the rest trains)` : ''}`);

  let start: { params: Float32Array } | { checkpoint: RunCheckpoint };
  let layout;
  if (resume) {
    if (resume.head.data.fingerprint !== dataInfo.fingerprint) {
      throw new QloraError('ARGUMENT_INVALID', `--resume: the data is not what ${resume.dir} was trained on (${resume.head.data.trainExamples} training and ${resume.head.data.valExamples} validation examples, fingerprint ${resume.head.data.fingerprint}; now ${train.length}, ${val.length}, ${dataInfo.fingerprint}). Give the same --data, --limit, --format and model (tokenizer) as that run.`);
    }
    layout = loraLayout(files.config, resume.head.lora);
    start = { checkpoint: readCheckpoint(checkpointReader(resume.dir), resume.dir, layout) };
  } else {
    // The page's start: a fresh adapter, or --init-adapter's with its own LoRA settings.
    const initial = settings.initAdapter ? await readAdapterDir(settings.initAdapter, files) : null;
    const given = ['lora-r', 'lora-alpha', 'lora-dropout', 'target', 'rslora'].filter((k) => p[k] !== undefined);
    if (initial && given.length) log(`note: --${given.join(', --')} ignored: the settings come from --init-adapter`);
    const s = adapterStart(files.config, settings, initial);
    settings = s.settings;
    layout = s.layout;
    start = { params: s.params };
  }

  // base_model_name_or_path: what from_pretrained can load from any working directory (the URL, or the
  // folder as an absolute path; a relative one only works from where training ran).
  const baseModel = /^https?:\/\//i.test(settings.model) ? settings.model : resolve(settings.model);
  const card = { quant: settings.quant, dataset: basename(dataPath) };
  const writeCheckpoints = p['checkpoint-every'] !== undefined || resume !== null;
  // The last checkpoint the run handed over (its adapter passed the divergence checks): what is saved.
  let last: RunCheckpoint | null = 'checkpoint' in start ? start.checkpoint : null;
  const run = new TrainingRun(ctx, weights, layout, train, val, settings, files.tokenizer.padTokenId ?? 0, start, {
    onStep: (h) => {
      process.stdout.write(JSON.stringify({ step: h.step, loss: h.loss, lr: h.lr, tokens: h.tokens, ms: Math.round(h.ms) }) + '\n');
      if (h.valLoss !== undefined) process.stdout.write(JSON.stringify({ step: h.step, eval_loss: h.valLoss }) + '\n');
    },
    onCheckpoint: async (c) => {
      last = c;
      if (!writeCheckpoints || c.step === 0) return;
      const dir = join(output.path, `${CHECKPOINT_PREFIX}${c.step}`);
      await writeWholeFolder(dir, checkpointFiles(c, layout, settings, dataInfo, baseModel, card));
      log(`checkpoint saved: ${dir}`);
    },
  });
  interrupt.attach(run);
  const lp = layout.settings;
  log(`LoRA r=${lp.r} alpha=${lp.alpha} on ${lp.targets.join(',')}: ${layout.parameterCount.toLocaleString('en')} trainable parameters; ` +
    `${run.totalSteps} steps${resume ? `, from step ${run.step + 1}` : ''}`);
  log(run.step === 0 ? 'compiling GPU shaders and running the first step…' : `compiling GPU shaders and running step ${run.step + 1}…`);
  const t0 = performance.now();
  let state: RunState;
  try {
    state = await run.run();
  } catch (e) {
    // Diverged or failed: keep the steps that were good, never the garbage after them.
    if (last && last.step > 0) {
      await output.write(adapterFiles(layout, last.params, baseModel, { ...card, steps: last.step }));
      log(`the adapter in ${output.path} is from step ${last.step}, the last one that passed the checks`);
    } else log('no adapter saved: no step passed the checks');
    // No run.destroy() here: the process ends with the error, and freeing buffers a refused step's
    // GPU work may still hold crashes Dawn at exit.
    throw e;
  }
  if (state === 'early-stopped') log(`early stop: no better validation loss in ${settings.patience} evaluations`);
  const final: RunCheckpoint | null = last;
  let scores: LogEntry = {};
  if (state !== 'stopped' && evalOpts.evalSamples > 0 && val.length > 0 && data.format !== 'text') {
    const n = Math.min(evalOpts.evalSamples, val.length);
    log(`evaluating: greedy answers to ${n} validation records (up to ${evalOpts.evalMaxNew} tokens each) for BLEU / ROUGE…`);
    const eos = [...files.config.eosTokenIds, ...(files.tokenizer.eosTokenId !== null ? [files.tokenizer.eosTokenId] : [])];
    const s = await scoreValidationAnswers(ctx, weights, run.lora, files.tokenizer, eos, data, val, evalOpts.evalSamples, evalOpts.evalMaxNew,
      { onProgress: (done, total) => log(`  evaluated ${done}/${total}`) });
    if (s) {
      process.stdout.write(JSON.stringify({ ...s, answers: undefined }) + '\n'); // the scores; the answers are not logged
      scores = { eval_bleu: s.bleu, eval_rouge1: s.rouge1, eval_rouge2: s.rouge2, eval_rougeL: s.rougeL, eval_rougeLsum: s.rougeLsum, eval_samples: s.samples };
    }
  }
  run.destroy();
  if (!final || final.step === 0) {
    log('no adapter saved: no step was taken');
    return interrupt.requested ? INTERRUPTED_EXIT : 0;
  }
  const trainLosses = final.history.map((h) => h.loss);
  const summary: LogEntry = {
    epoch: final.history[final.history.length - 1]?.epoch ?? 0, step: final.step,
    train_loss: trainLosses.reduce((a, b) => a + b, 0) / Math.max(1, trainLosses.length),
    train_runtime: (performance.now() - t0) / 1000, ...scores,
  };
  const state_ = new TextEncoder().encode(JSON.stringify(trainerState(final, settings, dataInfo, summary), null, 2) + '\n');
  await output.write({ ...adapterFiles(layout, final.params, baseModel, { ...card, steps: final.step }), [TRAINER_STATE_FILE]: state_ });
  log(`adapter saved to ${output.path} after ${final.step} steps (${TRAINER_STATE_FILE}: the log history)`);
  return interrupt.requested ? INTERRUPTED_EXIT : 0;
}
