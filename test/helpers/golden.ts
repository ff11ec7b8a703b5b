// Loading the golden runs of test/fixtures/golden: the model (float or bitsandbytes checkpoint) on the
// GPU with its adapter, the golden batch, and the expected tensors. No vitest here: the device check
// (src/bench/device-check.ts) bundles this file and passes the fixtures folder it finds at run time.
import { readFileSync } from 'node:fs';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { dirReader } from '../../src/io/node-files';
import { readModelFiles } from '../../src/io/model-files';
import type { LoadedModelFiles } from '../../src/io/model-files';
import { prepareBaseWeights } from '../../src/engine/base-weights';
import type { BaseQuant } from '../../src/engine/base-weights';
import { uploadModelWeights } from '../../src/engine/gpu-weights';
import type { GpuModelWeights } from '../../src/engine/gpu-weights';
import { loraLayout } from '../../src/engine/lora';
import type { LoraLayout } from '../../src/engine/lora';
import { parseAdapterConfig, readAdapterWeights } from '../../src/engine/peft-adapter';
import type { GpuContext } from '../../src/gpu/context';
import { collate } from '../../src/data/batch';
import type { Batch } from '../../src/data/batch';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

export interface GoldenJson {
  lora: { r: number; lora_alpha: number; lora_dropout: number; target_modules: string[] };
  optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  max_grad_norm: number;
  steps: number;
  batch: { input_ids: number[][]; labels: number[][] };
  losses: number[];
  generation: { prompt_ids: number[]; greedy_new_ids: number[] };
  quantized_base: boolean;
  /** Qwen3.5's runs: the tensors merged_layer0.safetensors holds (its layer 0 has no q_proj). */
  qwen3_5?: { merged_layer0_keys: string[] };
}

export interface GoldenRun {
  model: GoldenModel;
  kind: 'lora' | 'qlora';
  /** Which checkpoint the base comes from: the float one, or the bitsandbytes 4-bit one (qlora only). */
  checkpoint: 'float' | 'bnb';
}

export const GOLDEN_MODELS = ['tiny-llama', 'tiny-qwen2', 'tiny-qwen3', 'tiny-gemma3', 'tiny-qwen3_5'] as const;
export type GoldenModel = (typeof GOLDEN_MODELS)[number];

export const GOLDEN_RUNS: GoldenRun[] = GOLDEN_MODELS.flatMap((model) => [
  { model, kind: 'lora', checkpoint: 'float' } as GoldenRun,
  { model, kind: 'qlora', checkpoint: 'float' } as GoldenRun,
  { model, kind: 'qlora', checkpoint: 'bnb' } as GoldenRun,
]);

export const runName = (r: GoldenRun) => `${r.model}/${r.kind} (${r.checkpoint} checkpoint)`;
/** `fixtures`: the folder holding golden/ and the tiny checkpoints, ending in '/' (default: test/fixtures/). */
export const goldenDir = (r: GoldenRun, fixtures = FIXTURES) => `${fixtures}golden/${r.model}/${r.kind}/`;
export const modelDir = (r: GoldenRun, fixtures = FIXTURES) => `${fixtures}${r.model}${r.checkpoint === 'bnb' ? '-bnb-nf4' : ''}/`;

export function readGolden(r: GoldenRun, fixtures = FIXTURES): GoldenJson {
  return JSON.parse(readFileSync(goldenDir(r, fixtures) + 'golden.json', 'utf8'));
}

export function readSafetensors(path: string): SafetensorsFile {
  return new SafetensorsFile(new Uint8Array(readFileSync(path)), path);
}

export function readAdapter(dir: string): { layout: (cfg: LoadedModelFiles['config']) => LoraLayout; file: SafetensorsFile; config: ReturnType<typeof parseAdapterConfig> } {
  const config = parseAdapterConfig(JSON.parse(readFileSync(dir + 'adapter_config.json', 'utf8')), dir + 'adapter_config.json');
  const file = readSafetensors(dir + 'adapter_model.safetensors');
  return { config, file, layout: (cfg) => loraLayout(cfg, config.settings) };
}

export interface LoadedGolden {
  files: LoadedModelFiles;
  weights: GpuModelWeights;
  layout: LoraLayout;
  init: Float32Array;
  golden: GoldenJson;
  batch: Batch;
}

export async function loadGolden(ctx: GpuContext, r: GoldenRun, fixtures = FIXTURES): Promise<LoadedGolden> {
  const files = await readModelFiles(dirReader(modelDir(r, fixtures)));
  const quant: BaseQuant = r.kind === 'qlora' ? 'nf4' : 'f32';
  const weights = uploadModelWeights(ctx, files.config, prepareBaseWeights(files.tensors, files.config, quant));
  const adapter = readAdapter(goldenDir(r, fixtures) + 'adapter_init/');
  const layout = adapter.layout(files.config);
  const init = readAdapterWeights(adapter.file, layout);
  const golden = readGolden(r, fixtures);
  const examples = golden.batch.input_ids.map((ids, b) => ({ inputIds: ids, labels: golden.batch.labels[b] }));
  return { files, weights, layout, init, golden, batch: collate(examples, 0) };
}
