// What every CLI command does first: a GPU device from Dawn, the model's files, the base weights on
// the GPU in the requested precision, and the LoRA adapter (fresh or read from a PEFT folder).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QloraError } from '../errors';
import { nodeAdapter } from '../io/node-gpu';
import { readerFor } from '../io/node-files';
export { readDataset } from '../io/node-files';
import type { DatasetFetchOptions } from '../io/dataset-source';
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
import { SafetensorsFile } from '../formats/safetensors';
import { initLoraParams, loraLayout } from '../engine/lora';
import type { LoraLayout, LoraSettings } from '../engine/lora';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, parseAdapterConfig, readAdapterWeights } from '../engine/peft-adapter';
import { prepareDataset } from '../data/dataset';
import type { PrepareDatasetOptions, PreparedDataset } from '../data/dataset';
import type { TextTokenizer } from '../data/tokenizer';

export function log(message: string): void {
  process.stderr.write(message + '\n');
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
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name));
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
  const params = readAdapterWeights(new SafetensorsFile(new Uint8Array(await read(ADAPTER_WEIGHTS_FILE)), join(dir, ADAPTER_WEIGHTS_FILE)), layout);
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

/**
 * The dataset's examples, with the problems that were skipped on stderr; a dataset error names the
 * option that skips bad records (the engine's message speaks of the page's setting).
 */
export function prepareCliDataset(text: string, fileName: string, tokenizer: TextTokenizer, opts: PrepareDatasetOptions): PreparedDataset {
  let data: PreparedDataset;
  try {
    data = prepareDataset(text, fileName, tokenizer, opts);
  } catch (e) {
    if (e instanceof QloraError && e.code === 'DATASET_INVALID' && opts.onInvalid !== 'skip') {
      throw new QloraError(e.code, `${e.message} To train on the valid records only, pass --skip-invalid.`, e.details);
    }
    throw e;
  }
  for (const e of data.lineErrors) log(`skipped line ${e.line}: ${e.reason}`);
  for (const e of data.recordErrors) log(`skipped ${e.line !== undefined ? `line ${e.line}` : `record #${e.index}`}: ${e.reason}`);
  return data;
}
