// `qlora merge`: the base model with a PEFT adapter merged into its weights, as a folder transformers'
// from_pretrained loads (and vLLM, llama.cpp's convert_hf_to_gguf.py): the page's merged export
// (export/merged-model.ts), written atomically. Prints {"out","dtype","files","bytes"}.
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { QloraError } from '../errors';
import type { OptionSpec, Parsed } from './args';
import { requireOpt } from './args';
import { log, readAdapterDir } from './setup';
import { writeWholeFolder } from './checkpoint-dir';
import { readerFor } from '../io/node-files';
import { readModelFiles } from '../io/model-files';
import { BASE_QUANTS, prepareBaseWeights } from '../engine/base-weights';
import type { BaseQuant } from '../engine/base-weights';
import { DEFAULT_MAX_SHARD_BYTES, mergedModelFiles, planMergedModel } from '../export/merged-model';
import type { MergedDtype, MergedModelInput } from '../export/merged-model';
import { parseMemorySize } from '../gpu/memory-probe';

/** The files a model folder carries besides its config and weights, copied as they are when present. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'generation_config.json'];

export const MERGE_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', valueName: 'DIR|URL', help: 'base model folder or http(s) base URL' },
  adapter: { type: 'string', valueName: 'DIR', help: 'PEFT adapter folder (a --out of qlora train, or a checkpoint-<step>)' },
  out: { type: 'string', valueName: 'DIR', help: 'the merged model folder to write (new or empty)' },
  dtype: { type: 'string', help: 'weights of the merged model (default bf16: the range of f32, where f16 saturates at 65504)', choices: ['bf16', 'f16'] },
  quant: { type: 'string', help: 'the base the adapter is added to: as trained (default nf4, dequantized as PEFT merges a 4-bit model), or f16 / f32', choices: BASE_QUANTS },
  'max-shard-size': { type: 'string', valueName: 'SIZE', help: 'largest safetensors file, e.g. 2GB or 500MB (default 2GiB, as the page); larger models are sharded with an index' },
};

export async function merge(p: Parsed): Promise<void> {
  const cmd = 'merge';
  const modelLoc = requireOpt<string>(p, 'model', cmd);
  const adapterDir = requireOpt<string>(p, 'adapter', cmd);
  const out = resolve(requireOpt<string>(p, 'out', cmd));
  const dtype: MergedDtype = p.dtype === 'f16' ? 'F16' : 'BF16';
  const quant = ((p.quant as string | undefined) ?? 'nf4') as BaseQuant;
  const maxShardBytes = p['max-shard-size'] !== undefined ? parseMemorySize(p['max-shard-size'] as string) : DEFAULT_MAX_SHARD_BYTES;
  const existing = await stat(out).catch(() => null);
  if (existing && (!existing.isDirectory() || (await readdir(out)).length > 0)) {
    throw new QloraError('ARGUMENT_INVALID', `--out ${out} already exists and is not an empty folder; the merged model is written as a whole. Give a new folder.`);
  }
  const reader = readerFor(modelLoc);
  log(`loading the model from ${modelLoc}…`);
  const files = await readModelFiles(reader);
  const adapter = await readAdapterDir(adapterDir, files);
  const configBytes = await reader.read('config.json');
  const tokenizerFiles: Record<string, Uint8Array> = {};
  for (const name of TOKENIZER_FILES) {
    const bytes = await reader.read(name);
    if (bytes) tokenizerFiles[name] = bytes;
  }
  log(`merging LoRA r=${adapter.settings.r} into the ${quant} base, writing ${dtype}…`);
  const input: MergedModelInput = {
    config: files.config,
    configJson: JSON.parse(new TextDecoder().decode(configBytes!)) as Record<string, unknown>,
    weights: prepareBaseWeights(files.tensors, files.config, quant),
    layout: adapter.layout,
    params: adapter.params,
    tokenizerFiles,
    dtype,
    maxShardBytes,
  };
  const plan = planMergedModel(input);
  let written = 0;
  let bytes = 0;
  await writeWholeFolder(out, (function* () {
    for (const f of mergedModelFiles(input)) {
      written++;
      bytes += f.bytes.byteLength;
      if (plan.shards.some((s) => s.name === f.name)) log(`  ${f.name} (${(f.bytes.byteLength / 2 ** 20).toFixed(1)} MiB)`);
      yield f;
    }
  })());
  process.stdout.write(JSON.stringify({ out, dtype: dtype.toLowerCase(), files: written, shards: plan.shards.length, bytes }) + '\n');
}
