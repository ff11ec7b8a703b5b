// Reading a model in the Hugging Face Hub file layout (config.json, tokenizer.json,
// tokenizer_config.json, model.safetensors or model.safetensors.index.json + shards) from a local
// folder or an http(s) base URL, into a config, a tensor source and a tokenizer.
import { QloraError, isQloraError } from '../errors';
import { concatChunks, downloadFile, fileUrl, type ChunkSink } from './download';
import { modelFileLimit } from './size-limits';
import { parseModelConfig, requireTrainable } from '../formats/model-config';
import type { WrapperLayout } from '../formats/architectures';
import { textTensorName } from '../formats/checkpoint-names';
import type { ModelConfig } from '../formats/model-config';
import { SafetensorsFile, parseShardIndex } from '../formats/safetensors';
import type { TensorSource } from '../formats/tensor-source';
import { combineShards, renamedSource, singleFile } from '../formats/tensor-source';
import { createTokenizer } from '../data/tokenizer';
import { checkFinite } from '../formats/finite';
import type { TextTokenizer } from '../data/tokenizer';

/** Where model files come from: `read` returns null when the file does not exist. */
export interface FileReader {
  readonly location: string;
  read(name: string): Promise<Uint8Array | null>;
}

export interface UrlReaderOptions {
  headers?: Readonly<Record<string, string>>;
  retries?: number;
  retryDelayMs?: number;
  stallTimeoutMs?: number;
}

/**
 * Files under an http(s) base URL, through the app's downloader: the same stall timeout, retries
 * that resume a short body, size caps on text files, and path segments encoded so a name like
 * "%2e%2e/x" stays inside the folder. Files are held in memory only: a new run fetches them again.
 */
export function urlReader(base: string, opts: UrlReaderOptions = {}): FileReader {
  const root = base.endsWith('/') ? base : base + '/';
  return {
    location: root,
    async read(name) {
      const parts: Uint8Array[] = [];
      const sink: ChunkSink = { write: (c) => void parts.push(c.slice()), reset: () => void (parts.length = 0) };
      try {
        await downloadFile(fileUrl(root, name), { ...opts, sink, limit: modelFileLimit(name) ?? undefined });
      } catch (e) {
        if (isQloraError(e) && e.code === 'NETWORK' && (e.details as { status?: number } | undefined)?.status === 404) return null;
        throw e;
      }
      return concatChunks(parts);
    },
  };
}

async function required(files: FileReader, name: string): Promise<Uint8Array> {
  const bytes = await files.read(name);
  if (!bytes) throw new QloraError('CONFIG_INVALID', `${files.location} has no ${name}; a model folder needs config.json, tokenizer.json, tokenizer_config.json and model.safetensors (or a sharded index).`);
  return bytes;
}

function parsed(bytes: Uint8Array, where: string, code: 'CONFIG_INVALID' | 'TOKENIZER_INVALID' | 'WEIGHTS_CORRUPT'): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new QloraError(code, `${where} is not valid JSON: ${(e as Error).message}. Download the file again.`);
  }
}

async function json(files: FileReader, name: string, code: 'CONFIG_INVALID' | 'TOKENIZER_INVALID' = 'CONFIG_INVALID'): Promise<unknown> {
  return parsed(await required(files, name), files.location + name, code);
}

export async function readModelConfig(files: FileReader): Promise<ModelConfig> {
  return parseModelConfig(await json(files, 'config.json'), files.location + 'config.json');
}

export async function readTokenizer(files: FileReader): Promise<TextTokenizer> {
  const tok = await json(files, 'tokenizer.json', 'TOKENIZER_INVALID');
  const cfgBytes = await files.read('tokenizer_config.json');
  const tokCfg = cfgBytes ? parsed(cfgBytes, files.location + 'tokenizer_config.json', 'TOKENIZER_INVALID') : {};
  const template = await files.read('chat_template.jinja');
  return createTokenizer(tok, tokCfg, template ? { chatTemplate: new TextDecoder().decode(template) } : {});
}

/**
 * All weights in memory (fine for the CLI and small models; the app streams instead), under the text
 * model's names: a wrapping checkpoint's (`wrapper`, Qwen3_5ForConditionalGeneration) text weights
 * renamed, its vision tower and MTP head left out.
 */
export async function readTensors(files: FileReader, wrapper: WrapperLayout | null = null): Promise<TensorSource> {
  const stored = await readTensorFiles(files);
  const source = wrapper ? renamedSource(stored, (name) => textTensorName(wrapper, name)) : stored;
  for (const name of source.names()) checkFinite(source.description, name, source.info(name).dtype, source.bytes(name));
  return source;
}

async function readTensorFiles(files: FileReader): Promise<TensorSource> {
  const single = await files.read('model.safetensors');
  if (single) return singleFile(new SafetensorsFile(single, files.location + 'model.safetensors'));
  const indexBytes = await files.read('model.safetensors.index.json');
  if (!indexBytes) throw new QloraError('CONFIG_INVALID', `${files.location} has neither model.safetensors nor model.safetensors.index.json.`);
  const index = parseShardIndex(parsed(indexBytes, files.location + 'model.safetensors.index.json', 'WEIGHTS_CORRUPT'), files.location + 'model.safetensors.index.json');
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
  requireTrainable(config, files.location + 'config.json'); // before the weights are read
  const [tensors, tokenizer] = await Promise.all([readTensors(files, config.wrapper), readTokenizer(files)]);
  checkTokenizerFits(tokenizer, config, files.location);
  return { config, tensors, tokenizer };
}

/**
 * Every id the tokenizer can produce must have an embedding row: an added token with id 700 on a
 * 512-row embedding would otherwise read past the table (garbage, or another buffer's bytes).
 */
export function checkTokenizerFits(tokenizer: TextTokenizer, config: ModelConfig, where: string): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new QloraError(
      'TOKENIZER_INVALID',
      `${where}: the tokenizer has ids up to ${tokenizer.vocabSize - 1}, but config.json's vocab_size is ${config.vocabSize} (the embedding has ${config.vocabSize} rows). ` +
        'Use the tokenizer that came with this model, or resize the embedding (resize_token_embeddings) and save the model again.',
    );
  }
}
