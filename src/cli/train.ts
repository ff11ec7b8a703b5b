// `qlora train`: fine-tune a LoRA adapter headless. One JSON line per step on stdout
// ({"step","loss","lr","tokens","ms"}: the loss of that step's batch before its update), progress and
// problems on stderr, the adapter in --out at the end (and on Ctrl-C, so no finished step is lost).
import { basename, resolve } from 'node:path';
import { QloraError } from '../errors';
import type { OptionSpec, Parsed } from './args';
import { nonNegative, positive, requireOpt } from './args';
import { openGpu, loadModel, readAdapterDir, freshAdapter, adapterFiles, log, readDataset, datasetOptions } from './setup';
import { claimOutputDir } from './output-dir';
import { checkAdapterParams } from '../engine/divergence';
import { prepareDataset } from '../data/dataset';
import { describePlainText } from '../data/dataset-text';
import type { DatasetFormat } from '../data/records';
import { DataLoader } from '../data/batch';
import { createGpuLora, readLoraParams } from '../engine/gpu-lora';
import { Trainer } from '../engine/trainer';
import type { StepResult } from '../engine/trainer';
import type { SchedulerName } from '../engine/schedule';
import { SCHEDULERS } from '../engine/schedule';
import { BASE_QUANTS } from '../engine/base-weights';
import type { BaseQuant } from '../engine/base-weights';
import { DEFAULT_LORA, parseTargets } from '../engine/lora';
import { DEFAULT_OPTIMIZER } from '../engine/optimizer';
import { modelMaxLength } from '../engine/run-settings';

export const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', help: 'model folder or http(s) base URL (Hub layout)' },
  data: { type: 'string', help: 'dataset: a JSON, JSONL, CSV or Parquet file, an http(s) URL, or hf://datasets/owner/name[:split]' },
  format: { type: 'string', help: 'record format (detected when omitted)', choices: ['alpaca', 'chat', 'completion', 'text'] },
  limit: { type: 'int', help: 'keep the first N records' },
  'no-shuffle': { type: 'flag', help: 'keep file order (default: shuffle each epoch)' },
  'skip-invalid': { type: 'flag', help: 'skip malformed records instead of stopping' },
  'max-length': { type: 'int', help: "truncate examples to this many tokens (default 1024, or the model's context when shorter)" },
  'batch-size': { type: 'int', help: 'examples per step' },
  'grad-accum': { type: 'int', help: 'micro-batches per optimizer step (default 1)' },
  steps: { type: 'int', help: 'optimizer steps (cycling through epochs)' },
  epochs: { type: 'number', help: 'epochs, when --steps is not given' },
  lr: { type: 'number', help: 'peak learning rate' },
  scheduler: { type: 'string', help: 'learning-rate schedule (default constant)', choices: SCHEDULERS },
  warmup: { type: 'int', help: 'warmup steps (default 0)' },
  'weight-decay': { type: 'number', help: `AdamW weight decay (default ${DEFAULT_OPTIMIZER.weightDecay})` },
  'max-grad-norm': { type: 'number', help: `gradient clipping norm, 0 = off (default ${DEFAULT_OPTIMIZER.maxGradNorm})` },
  'lora-r': { type: 'int', help: `LoRA rank (default ${DEFAULT_LORA.r})` },
  'lora-alpha': { type: 'number', help: `LoRA alpha (default ${DEFAULT_LORA.alpha})` },
  'lora-dropout': { type: 'number', help: `dropout on the LoRA input (default ${DEFAULT_LORA.dropout})` },
  target: { type: 'string', help: 'target modules: q_proj,v_proj,… or all-linear / attention (default all-linear)' },
  rslora: { type: 'flag', help: 'scale by alpha/√r (rsLoRA)' },
  quant: { type: 'string', help: 'base precision (default nf4)', choices: BASE_QUANTS },
  'init-adapter': { type: 'string', help: 'continue from a PEFT adapter folder' },
  'gradient-checkpointing': { type: 'flag', help: 'recompute activations in the backward pass (less memory)' },
  seed: { type: 'int', help: 'seed for LoRA init, shuffling and dropout (default 0)' },
  out: { type: 'string', help: 'output folder for the adapter' },
};

export async function train(p: Parsed): Promise<void> {
  const cmd = 'train';
  const modelLoc = requireOpt<string>(p, 'model', cmd);
  const dataPath = requireOpt<string>(p, 'data', cmd);
  const out = requireOpt<string>(p, 'out', cmd);
  const batchSize = requireOpt<number>(p, 'batch-size', cmd);
  const lr = requireOpt<number>(p, 'lr', cmd);
  if (batchSize < 1) throw new QloraError('ARGUMENT_INVALID', `--batch-size must be ≥ 1; got ${batchSize}`);
  positive(p, 'lr');
  if (p.steps === undefined && p.epochs === undefined) throw new QloraError('ARGUMENT_INVALID', 'qlora train: give --steps or --epochs.');
  const gradAccum = (p['grad-accum'] as number | undefined) ?? 1;
  if (gradAccum < 1) throw new QloraError('ARGUMENT_INVALID', `--grad-accum must be ≥ 1; got ${gradAccum}`);
  const seed = (p.seed as number | undefined) ?? 0;
  const quant = ((p.quant as string | undefined) ?? 'nf4') as BaseQuant;

  // The output folder is checked and locked before any time is spent on loading or training.
  const output = await claimOutputDir(out);
  try {
    await trainInto(p, output, { modelLoc, dataPath, batchSize, lr, gradAccum, seed, quant });
  } finally {
    await output.release();
  }
}

/** Host-side divergence checks read the adapter back this often (and after step 1 and the last step). */
const VERIFY_EVERY = 10;

async function trainInto(
  p: Parsed,
  output: Awaited<ReturnType<typeof claimOutputDir>>,
  o: { modelLoc: string; dataPath: string; batchSize: number; lr: number; gradAccum: number; seed: number; quant: BaseQuant },
): Promise<void> {
  const { modelLoc, dataPath, batchSize, lr, gradAccum, seed, quant } = o;
  const out = output.path;
  let maxLength = 0; // resolved against the model's context once config.json is read
  const ctx = await openGpu();
  const { files, weights } = await loadModel(ctx, modelLoc, quant, (cfg) => (maxLength = modelMaxLength(cfg, p['max-length'] as number | undefined, 1024, '--max-length')));
  const dataset = await readDataset(dataPath, datasetOptions(p.limit as number | undefined));
  const data = prepareDataset(dataset.text, dataset.fileName, files.tokenizer, {
    format: p.format as DatasetFormat | undefined,
    limit: p.limit as number | undefined,
    maxLength,
    onInvalid: p['skip-invalid'] ? 'skip' : 'stop',
  });
  for (const e of data.lineErrors) log(`skipped line ${e.line}: ${e.reason}`);
  for (const e of data.recordErrors) log(`skipped ${e.line !== undefined ? `line ${e.line}` : `record #${e.index}`}: ${e.reason}`);
  log(`data: ${data.examples.length} ${data.format} examples from ${dataPath}${data.syntax === 'text' ? ` (${describePlainText(data.records.length)})` : ''}`);

  const loraFlags = ['lora-r', 'lora-alpha', 'lora-dropout', 'target', 'rslora'].filter((k) => p[k] !== undefined);
  const adapter = p['init-adapter']
    ? await readAdapterDir(p['init-adapter'] as string, files)
    : freshAdapter(files, {
        r: (p['lora-r'] as number | undefined) ?? DEFAULT_LORA.r,
        alpha: (p['lora-alpha'] as number | undefined) ?? DEFAULT_LORA.alpha,
        dropout: (p['lora-dropout'] as number | undefined) ?? DEFAULT_LORA.dropout,
        targets: p.target ? parseTargets(p.target as string) : DEFAULT_LORA.targets,
        rslora: !!p.rslora,
      }, seed);
  if (p['init-adapter'] && loraFlags.length) log(`note: --${loraFlags.join(', --')} ignored: the settings come from --init-adapter`);
  const stepsPerEpoch = Math.ceil(data.examples.length / (batchSize * gradAccum));
  const steps = (p.steps as number | undefined) ?? Math.ceil(stepsPerEpoch * (p.epochs as number));
  if (!(steps >= 1)) throw new QloraError('ARGUMENT_INVALID', `Nothing to do: ${steps} steps.`);
  const lora = createGpuLora(ctx, adapter.layout, adapter.params);
  const trainer = new Trainer(ctx, weights, lora, {
    lr,
    scheduler: ((p.scheduler as string | undefined) ?? 'constant') as SchedulerName,
    warmupSteps: nonNegative(p, 'warmup', 0),
    totalSteps: steps,
    seed,
    gradientCheckpointing: !!p['gradient-checkpointing'],
    optimizer: { ...DEFAULT_OPTIMIZER, weightDecay: nonNegative(p, 'weight-decay', DEFAULT_OPTIMIZER.weightDecay), maxGradNorm: nonNegative(p, 'max-grad-norm', DEFAULT_OPTIMIZER.maxGradNorm) },
  });
  log(`LoRA r=${adapter.settings.r} alpha=${adapter.settings.alpha} on ${adapter.settings.targets.join(',')}: ${adapter.layout.parameterCount.toLocaleString('en')} trainable parameters; ${steps} steps`);
  const loader = new DataLoader(data.examples, { batchSize, padTokenId: files.tokenizer.padTokenId ?? 0, shuffle: !p['no-shuffle'], seed });
  // base_model_name_or_path: what from_pretrained can load from any working directory (the URL, or the
  // folder as an absolute path; a relative one only works from where training ran).
  const baseModel = /^https?:\/\//i.test(modelLoc) ? modelLoc : resolve(modelLoc);
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    log('stopping after this step; the adapter will be saved');
  };
  process.on('SIGINT', onSigint);
  // The last adapter that passed the divergence checks: what is saved when a later step blows up.
  const lastGood: { step: number; params: Float32Array | null } = { step: 0, params: null };
  const verify = async () => {
    const params = await readLoraParams(ctx, lora);
    checkAdapterParams(trainer.step, params, lr);
    Object.assign(lastGood, { step: trainer.step, params });
  };
  const save = async () => {
    if (!lastGood.params || lastGood.step === 0) return false;
    await output.write(adapterFiles(adapter.layout, lastGood.params, baseModel, { quant, steps: lastGood.step, dataset: basename(dataPath) }));
    log(`adapter saved to ${out} after ${lastGood.step} steps`);
    return true;
  };
  // Step lines arrive one step late: the GPU runs step N while step N-1's loss is read. Steps whose
  // adapter is verified are waited for, so `verify` reads the adapter right after them.
  const print = (results: StepResult[]) => {
    for (const r of results) process.stdout.write(JSON.stringify({ step: r.step, loss: r.loss, lr: r.lr, tokens: r.tokens, ms: Math.round(r.ms) }) + '\n');
  };
  try {
    for (let s = 0; s < steps && !interrupted; s++) {
      const micro = Array.from({ length: gradAccum }, () => loader.next());
      await trainer.queueStep(micro);
      const verifyNow = trainer.step === 1 || trainer.step % VERIFY_EVERY === 0;
      print(await trainer.settle(verifyNow ? 0 : 1));
      if (verifyNow) await verify();
    }
    print(await trainer.settle());
    if (lastGood.step !== trainer.step) await verify();
  } catch (e) {
    // Diverged or failed: keep the steps that were good, never the garbage after them.
    if (await save()) log(`the adapter in ${out} is from step ${lastGood.step}, the last one that passed the checks`);
    else log('no adapter saved: no step passed the checks');
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
  // Whatever ended the loop (the last step, Ctrl-C), the steps taken so far are worth keeping.
  await save();
}
