// Reading a model in the Hugging Face Hub file layout (config.json, tokenizer.json,
// tokenizer_config.json, model.safetensors or model.safetensors.index.json + shards) from a local
// folder or an http(s) base URL, into a config, a tensor source and a tokenizer.
import { QloraError } from '../errors';
import { parseModelConfig } from '../formats/model-config';
import type { ModelConfig } from '../formats/model-config';
import { SafetensorsFile, parseShardIndex } from '../formats/safetensors';
import type { TensorSource } from '../formats/tensor-source';
import { combineShards, singleFile } from '../formats/tensor-source';
import { createTokenizer } from '../data/tokenizer';
import type { TextTokenizer } from '../data/tokenizer';

/** Where model files come from: `read` returns null when the file does not exist. */
export interface FileReader {
  readonly location: string;
  read(name: string): Promise<Uint8Array | null>;
}

export function urlReader(base: string, init: RequestInit = {}): FileReader {
  const root = base.endsWith('/') ? base : base + '/';
  return {
    location: root,
    async read(name) {
      let res: Response;
      try {
        res = await fetch(root + name, init);
      } catch (e) {
        throw new QloraError('NETWORK', `Could not fetch ${root + name}: ${(e as Error).message}. Check the URL and your connection.`);
      }
      if (res.status === 404) return null;
      if (!res.ok) throw new QloraError('NETWORK', `Fetching ${root + name} failed: HTTP ${res.status} ${res.statusText}.`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

async function required(files: FileReader, name: string): Promise<Uint8Array> {
  const bytes = await files.read(name);
  if (!bytes) throw new QloraError('CONFIG_INVALID', `${files.location} has no ${name}; a model folder needs config.json, tokenizer.json, tokenizer_config.json and model.safetensors (or a sharded index).`);
  return bytes;
}

async function json(files: FileReader, name: string): Promise<unknown> {
  const bytes = await required(files, name);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new QloraError('CONFIG_INVALID', `${files.location}${name} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function readModelConfig(files: FileReader): Promise<ModelConfig> {
  return parseModelConfig(await json(files, 'config.json'), files.location + 'config.json');
}

export async function readTokenizer(files: FileReader): Promise<TextTokenizer> {
  const tok = await json(files, 'tokenizer.json');
  const cfgBytes = await files.read('tokenizer_config.json');
  const tokCfg = cfgBytes ? JSON.parse(new TextDecoder().decode(cfgBytes)) : {};
  const template = await files.read('chat_template.jinja');
  return createTokenizer(tok, tokCfg, template ? { chatTemplate: new TextDecoder().decode(template) } : {});
}

/** All weights in memory (fine for the CLI and small models; the app streams instead). */
export async function readTensors(files: FileReader): Promise<TensorSource> {
  const single = await files.read('model.safetensors');
  if (single) return singleFile(new SafetensorsFile(single, files.location + 'model.safetensors'));
  const indexBytes = await files.read('model.safetensors.index.json');
  if (!indexBytes) throw new QloraError('CONFIG_INVALID', `${files.location} has neither model.safetensors nor model.safetensors.index.json.`);
  const index = parseShardIndex(JSON.parse(new TextDecoder().decode(indexBytes)), files.location + 'model.safetensors.index.json');
  const shards: SafetensorsFile[] = [];
  for (const name of index.shards) shards.push(new SafetensorsFile(await required(files, name), files.location + name));
  const source = combineShards(shards, files.location);
  for (const [tensor, shard] of index.weightMap) {
    if (!source.has(tensor)) throw new QloraError('WEIGHTS_CORRUPT', `The shard index says "${tensor}" is in ${shard}, but it is not there.`, { tensor });
  }
  return source;
}

export interface LoadedModelFiles {
  config: ModelConfig;
  tensors: TensorSource;
  tokenizer: TextTokenizer;
}

export async function readModelFiles(files: FileReader): Promise<LoadedModelFiles> {
  const config = await readModelConfig(files);
  const [tensors, tokenizer] = await Promise.all([readTensors(files), readTokenizer(files)]);
  return { config, tensors, tokenizer };
}
