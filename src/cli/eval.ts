// `qlora eval`: mean loss of a dataset under the base model or an adapter; prints {"loss","tokens"}
// (tokens = targets that take loss).
import type { OptionSpec, Parsed } from './args';
import { requireOpt } from './args';
import { openGpu, loadModel, readAdapterDir, freshAdapter, readDataset, datasetOptions, datasetProgressLog, prepareCliDataset, checkCliDataset, log } from './setup';
import { BASE_QUANTS } from '../engine/base-weights';
import type { BaseQuant } from '../engine/base-weights';
import { createGpuLora } from '../engine/gpu-lora';
import { Trainer } from '../engine/trainer';
import type { DatasetFormat } from '../data/records';
import { DATASET_FORMATS } from '../data/records';
import { parseColumnMapping } from '../data/columns';
import { COLUMNS_OPTION } from './train-options';
import { DataLoader } from '../data/batch';
import { DEFAULT_LORA } from '../engine/lora';
import { DEFAULT_OPTIMIZER } from '../engine/optimizer';
import { DEFAULT_SETTINGS, modelMaxLength } from '../engine/run-settings';
import { QloraError } from '../errors';

export const EVAL_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', help: 'model folder or http(s) base URL' },
  adapter: { type: 'string', help: 'PEFT adapter folder (default: the base model alone)' },
  quant: { type: 'string', help: 'base precision (default nf4)', choices: BASE_QUANTS },
  data: { type: 'string', help: 'dataset: a JSON, JSONL, CSV or Parquet file, an http(s) URL, or hf://datasets/owner/name[:split]' },
  format: { type: 'string', help: 'record format (detected when omitted)', choices: DATASET_FORMATS },
  columns: COLUMNS_OPTION,
  limit: { type: 'int', help: 'keep the first N records' },
  'skip-invalid': { type: 'flag', help: 'skip malformed records instead of stopping' },
  'max-length': { type: 'int', help: `truncate examples to this many tokens (default ${DEFAULT_SETTINGS.maxLength}, as qlora train, or the model's context when shorter)` },
  'batch-size': { type: 'int', help: 'examples per forward pass (default 8)' },
};

export async function evaluate(p: Parsed): Promise<void> {
  const cmd = 'eval';
  const modelLoc = requireOpt<string>(p, 'model', cmd);
  const dataPath = requireOpt<string>(p, 'data', cmd);
  let maxLength = 0; // resolved against the model's context once config.json is read
  const batchSize = (p['batch-size'] as number | undefined) ?? 8;
  if (batchSize < 1) throw new QloraError('ARGUMENT_INVALID', `--batch-size must be ≥ 1; got ${batchSize}`);
  // The dataset first: a missing file is reported before any time is spent on the model.
  const dataset = await readDataset(dataPath, datasetOptions(p.limit as number | undefined));
  const dataOpts = { format: p.format as DatasetFormat | undefined, columns: p.columns ? parseColumnMapping(p.columns as string) : {}, limit: p.limit as number | undefined, onInvalid: p['skip-invalid'] ? 'skip' : 'stop' } as const;
  checkCliDataset(dataset.text, dataset.fileName, dataOpts); // every problem of the file, before the GPU and the model
  const ctx = await openGpu();
  const { files, weights } = await loadModel(ctx, modelLoc, ((p.quant as string | undefined) ?? 'nf4') as BaseQuant, (cfg) => (maxLength = modelMaxLength(cfg, p['max-length'] as number | undefined, DEFAULT_SETTINGS.maxLength, '--max-length')));
  const data = prepareCliDataset(dataset.text, dataset.fileName, files.tokenizer, { ...dataOpts, maxLength, onProgress: datasetProgressLog(dataset.fileName) });
  // Without --adapter, a zero-B LoRA: the base model's function exactly (B = 0 adds nothing).
  const adapter = p.adapter ? await readAdapterDir(p.adapter as string, files) : freshAdapter(files, { ...DEFAULT_LORA, r: 1, targets: ['q_proj'] }, 0);
  const lora = createGpuLora(ctx, adapter.layout, adapter.params);
  const evaluator = new Trainer(ctx, weights, lora, { lr: 0, scheduler: 'constant', warmupSteps: 0, totalSteps: 0, seed: 0, gradientCheckpointing: false, optimizer: DEFAULT_OPTIMIZER });
  const loader = new DataLoader(data.examples, { batchSize, padTokenId: files.tokenizer.padTokenId ?? 0, shuffle: false });
  const batches = Array.from({ length: Math.ceil(data.examples.length / batchSize) }, () => loader.next());
  log(`evaluating ${data.examples.length} examples in ${batches.length} batches (the first compiles the GPU shaders)…`);
  let sum = 0;
  let tokens = 0;
  for (const [i, b] of batches.entries()) {
    const r = await evaluator.evaluate([b]);
    sum += r.loss * r.tokens;
    tokens += r.tokens;
    if (batches.length > 1) log(`  batch ${i + 1}/${batches.length}`);
  }
  const r = { loss: sum / tokens, tokens };
  process.stdout.write(JSON.stringify({ loss: r.loss, tokens: r.tokens }) + '\n');
}
