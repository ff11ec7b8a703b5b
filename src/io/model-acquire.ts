// Gets a model into the cache: config and tokenizer files, then the weights streamed file by file
// (model.safetensors, or the shards of model.safetensors.index.json) through SafetensorsStreamParser.
// Each part (a decoder layer, the embedding, lm_head, the final norm) is prepared as soon as its last
// tensor arrives, saved, and its floats dropped, so the browser never holds the model whole. Parts a
// previous, interrupted attempt saved are not prepared again, and their bytes are skipped with a Range
// request where possible (a whole shard is not fetched at all).
import { QloraError } from '../errors';
import { parseModelConfig, requireTrainable, type ModelConfig } from '../formats/model-config';
import { textTensorName } from '../formats/checkpoint-names';
import { parseShardIndex, type SafetensorsHeader, type TensorInfo } from '../formats/safetensors';
import type { BaseQuant } from '../engine/base-weights';
import { createRateMeter, throttle, type ChunkSink, type ResetReason } from './download';
import type { ModelLocation } from './hub';
import { modelFiles } from './model-source';
import type { FetchOptions } from './model-source';
import { checkTokenizerFits, readTokenizer } from './model-files';
import {
  beginCachedModel,
  completeModelConfig,
  deleteCachedModel,
  finishCachedModel,
  modelCacheKey,
  modelParts,
  quantLabel,
  savePart,
  type KeyValueStore,
  type ModelTextFiles,
  type PartName,
} from './model-cache';
import { SafetensorsStreamParser } from './stream-safetensors';
import { PartAssembler, isTied, preparePart } from './tensor-parts';

export type AcquireStage = 'config' | 'download' | 'quantize' | 'done';

export interface AcquireProgress {
  stage: AcquireStage;
  /** For people: "download model.safetensors", "quantize layer 3/16", "cached". */
  phase: string;
  file: string | null;
  fileIndex: number; // 1-based; 0 before the first weight file
  fileCount: number;
  /** Bytes of the weight files streamed (or skipped as cached) so far, over all files. */
  loaded: number;
  /** Their total: exact for one file, from the shard index's total_size before every shard was seen; 0 if unknown. */
  total: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  partsDone: number;
  partsTotal: number;
}

export interface AcquireOptions {
  store: KeyValueStore;
  quant?: BaseQuant; // 'nf4': QLoRA
  doubleQuant?: boolean; // true: bitsandbytes' compress_statistics, QLoRA's default
  signal?: AbortSignal;
  onProgress?(p: AcquireProgress): void;
  retries?: number;
  retryDelayMs?: number;
  /** Cached bytes at least this long are skipped with a new Range request instead of streamed past. */
  skipGapBytes?: number; // 8 MiB: below that, a new request costs more than it saves
}

export interface AcquireResult {
  key: string;
  config: ModelConfig;
  /** The model was complete in the cache already: nothing was fetched but config.json (or nothing). */
  fromCache: boolean;
}

function parseJson(text: string, where: string, code: 'CONFIG_INVALID' | 'TOKENIZER_INVALID' | 'WEIGHTS_CORRUPT'): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new QloraError(code, `${where} is not valid JSON: ${(e as Error).message}`);
  }
}

function hasChatTemplate(tokenizerConfig: string | null): boolean {
  if (tokenizerConfig === null) return false;
  try {
    const template = (JSON.parse(tokenizerConfig) as { chat_template?: unknown }).chat_template;
    return typeof template === 'string' || (Array.isArray(template) && template.length > 0);
  } catch {
    return false; // readTokenizer reports the malformed file below
  }
}

/** Thrown by the sink to stop a transfer and continue it further on (cached bytes ahead). */
class SkipAhead {
  constructor(readonly offset: number) {}
}

/** Thrown by the sink when parts were already saved from bytes that turned out wrong or outdated. */
class StaleParts {
  constructor(
    readonly key: string,
    readonly file: string,
    readonly reason: Exclude<ResetReason, 'unresumable'>,
  ) {}
}

interface WeightFile {
  name: string;
  /** Tensors the shard index puts in this file (null for a single model.safetensors). */
  expected: string[] | null;
}

function partPhase(part: PartName, numLayers: number): string {
  if (part === 'embed') return 'prepare the embedding';
  if (part === 'lm_head') return 'prepare lm_head';
  if (part === 'norm') return 'prepare the final norm';
  return `quantize layer ${Number(part.slice('layer.'.length)) + 1}/${numLayers}`;
}

/**
 * config.json alone (a few kB), before anything big is fetched: the memory estimate can say whether a
 * run fits before the weights download. `embedDtypeBytes` is what the checkpoint declares
 * (torch_dtype, or dtype in newer transformers) — a guess until the weights' header is read.
 */
export async function fetchModelConfig(location: ModelLocation, opts: FetchOptions = {}): Promise<{ config: ModelConfig; embedDtypeBytes: number }> {
  const files = modelFiles(location, opts);
  const where = `${files.location}config.json`;
  const json = parseJson((await files.text('config.json', true)) as string, where, 'CONFIG_INVALID');
  const declared = (json as { torch_dtype?: unknown; dtype?: unknown }).torch_dtype ?? (json as { dtype?: unknown }).dtype;
  const config = parseModelConfig(json, where);
  requireTrainable(config, where); // said before the estimate, not after a download
  return { config, embedDtypeBytes: declared === 'float32' ? 4 : 2 };
}

/**
 * Downloads (or reads), prepares and caches the model; returns its cache key. Resumes an interrupted
 * run. When a weight file turns out to have changed on the server, or fails its SHA-256, after parts
 * were prepared from it, the cache entry is dropped and the model fetched once more from the start;
 * a second time, it is refused.
 */
export async function acquireModel(location: ModelLocation, opts: AcquireOptions): Promise<AcquireResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await acquireOnce(location, opts);
    } catch (e) {
      if (!(e instanceof StaleParts)) throw e;
      await deleteCachedModel(opts.store, e.key);
      if (attempt === 2) {
        const what = e.reason === 'corrupt' ? 'did not match its SHA-256 twice: something between here and the server changes the bytes' : 'changed on the server twice while it downloaded';
        throw new QloraError(
          e.reason === 'corrupt' ? 'WEIGHTS_CORRUPT' : 'NETWORK',
          `${e.file} ${what}. Nothing prepared from it was kept; try again later or from another network.`,
          { fileName: e.file, reason: e.reason },
        );
      }
    }
  }
}

async function acquireOnce(location: ModelLocation, opts: AcquireOptions): Promise<AcquireResult> {
  const { store, signal } = opts;
  const quant = opts.quant ?? 'nf4';
  const doubleQuant = opts.doubleQuant ?? true;
  const label = quantLabel(quant, doubleQuant);
  const key = modelCacheKey(location.id, label);
  const files = modelFiles(location, opts);
  const skipGap = opts.skipGapBytes ?? 8 << 20;

  const meter = createRateMeter();
  const emit = throttle(opts.onProgress, 100);
  const state: AcquireProgress = {
    stage: 'config',
    phase: 'read config.json',
    file: null,
    fileIndex: 0,
    fileCount: 0,
    loaded: 0,
    total: 0,
    bytesPerSecond: 0,
    etaSeconds: null,
    partsDone: 0,
    partsTotal: 0,
  };
  const report = (changes: Partial<AcquireProgress>, force = false) => {
    Object.assign(state, changes);
    const rate = meter.update(state.loaded, state.total || null);
    emit({ ...state, bytesPerSecond: rate.bytesPerSecond, etaSeconds: rate.etaSeconds }, force);
  };

  const cachedConfig = await completeModelConfig(store, key);
  if (cachedConfig) {
    report({ stage: 'done', phase: 'cached' }, true);
    return { key, config: cachedConfig, fromCache: true };
  }

  report({}, true);
  const configText = (await files.text('config.json', true)) as string;
  const config = parseModelConfig(parseJson(configText, `${files.location}config.json`, 'CONFIG_INVALID'), `${files.location}config.json`);
  requireTrainable(config, `${files.location}config.json`); // before anything big is fetched
  // The text model's name of a stored tensor; null for a wrapping checkpoint's parts that are never fetched (vision tower, MTP head).
  const textName = (stored: string) => textTensorName(config.wrapper, stored);
  report({ phase: 'read tokenizer.json' }, true);
  const textFiles: ModelTextFiles = { 'config.json': configText, 'tokenizer.json': (await files.text('tokenizer.json', true)) as string };
  parseJson(textFiles['tokenizer.json'], `${files.location}tokenizer.json`, 'TOKENIZER_INVALID');
  const tokenizerConfig = await files.text('tokenizer_config.json', false);
  if (tokenizerConfig !== null) textFiles['tokenizer_config.json'] = tokenizerConfig;
  // transformers writes chat_template.jinja only when tokenizer_config.json carries no chat_template:
  // asking for it otherwise is a 404 on every load (and a console error in a browser).
  if (!hasChatTemplate(tokenizerConfig)) {
    const jinja = await files.text('chat_template.jinja', false);
    if (jinja !== null) textFiles['chat_template.jinja'] = jinja;
  }
  // Everything a reload needs is validated before the entry exists: a cache entry whose tokenizer
  // files fail to load would fail on every visit.
  const text = new TextEncoder();
  const textReader = { location: files.location, read: async (name: string) => (name in textFiles ? text.encode(textFiles[name as keyof ModelTextFiles]) : null) };
  checkTokenizerFits(await readTokenizer(textReader), config, files.location);
  const done = await beginCachedModel(store, key, { sourceId: location.id, label: location.label, quant: label, files: textFiles });

  let assembler: PartAssembler | null = null;
  const makeAssembler = (stored: string[]) => {
    const names = stored.flatMap((n) => textName(n) ?? []);
    const tied = isTied(config, names, files.location);
    assembler = new PartAssembler(files.location, names, config.numLayers, tied, done);
    state.partsTotal = modelParts(config.numLayers, tied).length;
    state.partsDone = state.partsTotal - assembler.pending().length;
    return assembler;
  };

  let savedThisRun = 0; // parts prepared from bytes fetched by this call
  const onTensor = async (stored: TensorInfo, bytes: Uint8Array) => {
    const name = textName(stored.name);
    if (name === null) return;
    const part = assembler?.add(name === stored.name ? stored : { ...stored, name }, bytes);
    if (!part || !assembler) return;
    signal?.throwIfAborted();
    const downloadPhase = state.phase;
    report({ stage: 'quantize', phase: partPhase(part, config.numLayers) }, true);
    const prepared = preparePart(part, assembler.take(part), config, quant, doubleQuant);
    await savePart(store, key, part, prepared, done);
    savedThisRun++;
    report({ stage: 'download', phase: downloadPhase, partsDone: state.partsDone + 1 }, true);
  };

  // ---- which files ----
  let weightFiles: WeightFile[] = [{ name: 'model.safetensors', expected: null }];
  let indexTotal: number | null = null;
  let headersSeen = 0;
  let loadedBefore = 0; // bytes of the files finished before the current one

  const streamFile = async (file: WeightFile, fileIndex: number): Promise<'done' | 'missing'> => {
    const fileName = files.location + file.name;
    // A tensor is taken from the shard the index names, so a stray copy in another shard is ignored.
    const expected = file.expected && new Set(file.expected);
    const parser = new SafetensorsStreamParser(fileName, null, onTensor, {
      wanted: (t) => {
        const name = textName(t.name);
        return name !== null && assembler?.wants(name) === true && (!expected || expected.has(t.name));
      },
      onHeader: (header: SafetensorsHeader) => {
        if (expected) {
          for (const name of expected) {
            if (!header.tensors.has(name)) {
              throw new QloraError('WEIGHTS_CORRUPT', `The shard index says "${name}" is in ${file.name}, but it is not there.`, { tensor: name, fileName });
            }
          }
        } else {
          makeAssembler([...header.tensors.keys()]);
        }
        headersSeen += header.dataStart;
      },
    });
    let canSkip = true;
    let validator: string | null = null; // resumes after a skip carry it, so they never splice two versions
    const total = () => (indexTotal !== null ? indexTotal + headersSeen : loadedBefore + (parser.size ?? 0));
    const sink: ChunkSink = {
      start: (info) => {
        validator = info.validator;
        parser.start(info);
      },
      reset: (reason) => {
        if (reason !== 'unresumable' && savedThisRun > 0) throw new StaleParts(key, fileName, reason);
        parser.reset();
        // The same file again from 0: the server cannot resume, and skipping would restart it every time.
        if (reason === 'unresumable') canSkip = false;
      },
      write: async (chunk) => {
        await parser.push(chunk);
        report({ loaded: loadedBefore + parser.position, total: total() });
        const next = parser.nextWantedOffset();
        const end = parser.size ?? Infinity;
        if (canSkip && next !== null && next > parser.position && (next - parser.position >= skipGap || next === end)) {
          throw new SkipAhead(next);
        }
      },
    };
    const count = weightFiles.length;
    const phase = count > 1 ? `download ${file.name} (${fileIndex}/${count})` : `download ${file.name}`;
    report({ stage: 'download', phase, file: file.name, fileIndex, fileCount: count }, true);
    let offset = 0;
    for (;;) {
      try {
        if ((await files.stream(file.name, sink, offset, validator)) === 'missing') return 'missing';
        break;
      } catch (e) {
        if (!(e instanceof SkipAhead)) throw e;
        await parser.skipTo(e.offset);
        report({ loaded: loadedBefore + parser.position, total: total() });
        if (parser.complete) break;
        offset = e.offset;
      }
    }
    parser.end();
    loadedBefore += parser.position;
    return 'done';
  };

  if ((await streamFile(weightFiles[0], 1)) === 'missing') {
    const indexName = 'model.safetensors.index.json';
    const indexText = await files.text(indexName, false);
    if (indexText === null) {
      throw new QloraError('CONFIG_INVALID', `${files.location} has neither model.safetensors nor ${indexName}: it is not a model folder in the Hugging Face layout.`);
    }
    const indexJson = parseJson(indexText, files.location + indexName, 'WEIGHTS_CORRUPT');
    const index = parseShardIndex(indexJson, files.location + indexName);
    const totalSize = (indexJson as { metadata?: { total_size?: unknown } }).metadata?.total_size;
    indexTotal = typeof totalSize === 'number' && totalSize > 0 ? totalSize : null;
    const assembled = makeAssembler([...index.weightMap.keys()]);
    weightFiles = index.shards.map((name) => ({ name, expected: [...index.weightMap].filter(([, s]) => s === name).map(([t]) => t) }));
    for (const [i, file] of weightFiles.entries()) {
      // A shard holding only cached parts is not fetched at all.
      if (!(file.expected ?? []).some((t) => { const name = textName(t); return name !== null && assembled.wants(name); })) continue;
      if ((await streamFile(file, i + 1)) === 'missing') {
        throw new QloraError('WEIGHTS_CORRUPT', `${files.location}${indexName} lists ${file.name}, but that file does not exist.`, { fileName: file.name });
      }
    }
  }

  const finished = assembler as PartAssembler | null;
  if (!finished) throw new QloraError('INTERNAL', `${files.location}: no weights were read`);
  const pending = finished.pending();
  if (pending.length) {
    throw new QloraError('WEIGHTS_CORRUPT', `${files.location}: the checkpoint ended without all tensors of ${pending.join(', ')}.`, { parts: pending });
  }
  await finishCachedModel(store, key, { numLayers: config.numLayers, tied: finished.tied }, done);
  report({ stage: 'done', phase: 'cached', loaded: Math.max(state.loaded, state.total), total: Math.max(state.loaded, state.total) }, true);
  return { key, config, fromCache: false };
}
