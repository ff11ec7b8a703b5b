// What every CLI command does first: a GPU device from Dawn, the model's files, the base weights on
// the GPU in the requested precision, and the LoRA adapter (fresh or read from a PEFT folder).
import { join } from 'node:path';
import { QloraError } from '../errors';
import { settleAdapterFolder } from './output-dir';
import { readFolderFile } from './atomic-folder';
import { nodeAdapter } from '../io/node-gpu';
import { readerFor } from '../io/node-files';
export { readDataset } from '../io/node-files';
import type { DatasetFetchOptions } from '../io/dataset-source';
import { describeDatasetProgress } from '../data/dataset';
import type { DatasetProgress } from '../data/dataset';
import { authHeaders } from '../io/hub';
import { readModelFiles } from '../io/model-files';
import type { LoadedModelFiles } from '../io/model-files';
import type { ModelConfig } from '../formats/model-config';
import { createGpuContext } from '../gpu/context';
import type { GpuContext } from '../gpu/context';
import { prepareBaseWeights } from '../engine/base-weights';
import type { BaseQuant } from '../engine/base-weights';
import { uploadModelWeights } from '../engine/gpu-weights';
import type { GpuModelWeights } from '../engine/gpu-weights';
import { initLoraParams, loraLayout } from '../engine/lora';
import type { LoraLayout, LoraSettings } from '../engine/lora';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, openAdapterWeights, parseAdapterConfig, readAdapterWeights } from '../engine/peft-adapter';
import { checkDataset, checkProblemError, prepareDataset } from '../data/dataset';
import type { DatasetProblemDetails } from '../data/dataset';
import type { PrepareDatasetOptions, PreparedDataset } from '../data/dataset';
import type { TextTokenizer } from '../data/tokenizer';

export function log(message: string): void {
  process.stderr.write(message + '\n');
}

/**
 * prepareDataset's onProgress for the CLI: a line on stderr when a file of 50 M characters or more
 * starts to parse, then every 5 s once tokenizing has taken 2 s, and at the end if anything was said (a
 * 200 MB file tokenized for 4 minutes in silence); nothing for a dataset that is ready at once.
 */
export function datasetProgressLog(fileName: string, now: () => number = Date.now, write: (line: string) => void = log): (p: DatasetProgress) => void {
  const start = now();
  let last = start;
  let said = false;
  return (p) => {
    const t = now();
    if (p.phase === 'parsing') {
      if (p.total >= 50e6) write(describeDatasetProgress(fileName, p));
      return;
    }
    if (said ? t - last < 5000 && p.done < p.total : t - start < 2000) return;
    last = t;
    said = true;
    write(describeDatasetProgress(fileName, p));
  };
}

export async function openGpu(): Promise<GpuContext> {
  const adapter = await nodeAdapter();
  const ctx = await createGpuContext(adapter);
  log(`GPU: ${ctx.adapterDescription}${ctx.features.f16 ? ' (shader-f16)' : ''}; matrix products on ${ctx.gemmBackend}`);
  if (ctx.gemmFallback) log(`warning: tensor-core products failed their check (${ctx.gemmFallback}); using scalar f32 products`);
  ctx.device.lost.then((info) => {
    if (info.reason !== 'destroyed') log(`GPU device lost: ${info.message}`);
  });
  return ctx;
}

export interface LoadedModel {
  files: LoadedModelFiles;
  weights: GpuModelWeights;
}

/** `positions`: rows of the RoPE table, a number or one derived from the model's config (checked before the weights are prepared). */
export async function loadModel(ctx: GpuContext, location: string, quant: BaseQuant, positions: number | ((cfg: ModelConfig) => number)): Promise<LoadedModel> {
  const t0 = performance.now();
  log(`loading the model from ${location}…`);
  const files = await readModelFiles(readerFor(location));
  const maxPositions = typeof positions === 'number' ? positions : positions(files.config);
  const host = prepareBaseWeights(files.tensors, files.config, quant);
  const weights = uploadModelWeights(ctx, files.config, host, maxPositions);
  log(`model: ${files.config.modelType}, ${files.config.numLayers} layers, hidden ${files.config.hiddenSize}, base ${quant}; ` +
    `${(weights.bytes / 2 ** 20).toFixed(1)} MiB on the GPU, loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { files, weights };
}

export interface AdapterOnDisk {
  settings: LoraSettings;
  layout: LoraLayout;
  params: Float32Array;
  baseModel: string | null;
}

/** Only the model's config is needed: the adapter's shapes follow from it. */
export async function readAdapterDir(dir: string, files: Pick<LoadedModelFiles, 'config'>): Promise<AdapterOnDisk> {
  await settleAdapterFolder(dir, log); // a save a killed run left half-done is finished first, and said
  const read = async (name: string) => {
    try {
      return await readFolderFile(dir, name);
    } catch {
      throw new QloraError('ADAPTER_INVALID', `${dir} has no ${name}; an adapter folder holds ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}.`);
    }
  };
  const cfgText = (await read(ADAPTER_CONFIG_FILE)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(cfgText);
  } catch (e) {
    throw new QloraError('CONFIG_INVALID', `${join(dir, ADAPTER_CONFIG_FILE)} is not valid JSON: ${(e as Error).message}`);
  }
  const { settings, baseModel } = parseAdapterConfig(json, join(dir, ADAPTER_CONFIG_FILE));
  const layout = loraLayout(files.config, settings);
  const params = readAdapterWeights(openAdapterWeights(new Uint8Array(await read(ADAPTER_WEIGHTS_FILE)), join(dir, ADAPTER_WEIGHTS_FILE)), layout);
  return { settings, layout, params, baseModel };
}

export function freshAdapter(files: LoadedModelFiles, settings: LoraSettings, seed: number): AdapterOnDisk {
  const layout = loraLayout(files.config, settings);
  return { settings, layout, params: initLoraParams(layout, seed), baseModel: null };
}

/** Where --data may come from besides a file: the Hub (HF_ENDPOINT, HF_TOKEN as huggingface_hub reads them). */
export function datasetOptions(limit: number | undefined): DatasetFetchOptions {
  return { endpoint: process.env.HF_ENDPOINT || undefined, headers: authHeaders(process.env.HF_TOKEN), limit };
}

/** A dataset error with the option that fixes it: skipping helps only when some rows are good (or a row failed tokenizing). */
function withCliAdvice(e: unknown, onInvalid: PrepareDatasetOptions['onInvalid']): unknown {
  if (!(e instanceof QloraError) || e.code !== 'DATASET_INVALID') return e;
  const problem = (e.details as Partial<DatasetProblemDetails> | undefined)?.problem;
  if ((problem === 'rows' || problem === undefined) && onInvalid !== 'skip') return new QloraError(e.code, `${e.message} To train on the valid records only, pass --skip-invalid.`, e.details);
  if (problem === 'columns') return new QloraError(e.code, `${e.message} Name them with --columns, e.g. --columns instruction=question,output=answer.`, e.details);
  return e;
}

/**
 * The dataset checked as soon as it is read, before the GPU and the model are opened: every problem
 * of the file at once (a tokenizer finds the rest later, in prepareCliDataset).
 */
export function checkCliDataset(text: string, fileName: string, opts: Pick<PrepareDatasetOptions, 'format' | 'columns' | 'limit' | 'onInvalid'>): void {
  const problem = checkProblemError(checkDataset(text, fileName, opts), opts.onInvalid);
  if (problem) throw withCliAdvice(problem, opts.onInvalid);
}

/**
 * The dataset's examples, with the problems that were skipped on stderr; a dataset error names the
 * option that fixes it (the engine's message speaks of the page's settings).
 */
export function prepareCliDataset(text: string, fileName: string, tokenizer: TextTokenizer, opts: PrepareDatasetOptions): PreparedDataset {
  return logSkipped(namingSkipInvalid(opts.onInvalid, () => prepareDataset(text, fileName, tokenizer, opts)));
}

/** `read` (a dataset being prepared), its DATASET_INVALID errors naming --skip-invalid when it was not given. */
export function namingSkipInvalid<T>(onInvalid: 'stop' | 'skip' | undefined, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw withCliAdvice(e, onInvalid);
  }
}

/** The lines and records --skip-invalid skipped, one line each on stderr. */
export function logSkipped(data: PreparedDataset): PreparedDataset {
  for (const e of data.lineErrors) log(`skipped line ${e.line}: ${e.reason}`);
  for (const e of data.recordErrors) log(`skipped ${e.line !== undefined ? `line ${e.line}` : `record #${e.index}`}: ${e.reason}`);
  return data;
}
