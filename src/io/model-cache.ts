// The prepared (quantized) base model cached in the browser, so a model is downloaded and quantized
// once. Over a KeyValueStore (kv-store.ts): IndexedDB in the browser, a Map in Node tests.
// One entry per layer and per embedding, so no single write is huge and an interrupted download keeps
// the layers it finished; the manifest is written LAST, so only a finished model ever reads as complete.
//
// Keys: `${modelKey}#meta` (text files), `#progress` (parts done, rewritten after each part),
// `#part:layer.3` / `#part:embed` / `#part:lm_head` / `#part:norm` (large arrays in `~i` pieces, see
// chunked-entry.ts), `#manifest` (complete).
import { QloraError, isQloraError } from '../errors';
import { parseModelConfig, type ModelConfig } from '../formats/model-config';
import type { BaseQuant, HostLayerWeights, HostModelWeights } from '../engine/base-weights';
import type { HostWeight } from '../gpu/weight';
import type { FileReader } from './model-files';
import { approxBytes, type KeyValueStore } from './kv-store';
import { BrokenEntryError, getChunked, putChunked } from './chunked-entry';
import { compact, layerFromStored, layerToStored, vectorFromStored, weightFromStored, weightToStored } from './stored-weight';

export { idbStore, memoryStore, type KeyValueStore } from './kv-store';
export { weightFromStored, weightToStored, type StoredWeight } from './stored-weight';

// ---- keys --------------------------------------------------------------------------------------

export type QuantLabel = 'nf4-dq' | 'nf4' | 'f16' | 'f32';

export function quantLabel(quant: BaseQuant, doubleQuant = true): QuantLabel {
  return quant === 'nf4' ? (doubleQuant ? 'nf4-dq' : 'nf4') : quant;
}

/** Model source id ("hf:owner/name@main", "url:…", "local:…") + quantization: one cached model. */
export function modelCacheKey(sourceId: string, label: QuantLabel): string {
  return `${sourceId.replace(/#/g, '%23')}|${label}`;
}

/** `layer.3`, `embed`, `lm_head` (absent when tied), `norm`. */
export type PartName = `layer.${number}` | 'embed' | 'lm_head' | 'norm';

export function layerPart(i: number): PartName {
  return `layer.${i}`;
}

const entryKey = (key: string, what: string) => `${key}#${what}`;
const partKey = (key: string, part: PartName) => entryKey(key, `part:${part}`);

// ---- errors ------------------------------------------------------------------------------------

function storageError(e: unknown, key: string, what: string): QloraError {
  if (isQloraError(e)) return e;
  const name = (e as { name?: string } | null)?.name ?? '';
  if (name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED') {
    return new QloraError(
      'STORAGE',
      `Browser storage is full while saving ${what} of ${key}. Delete cached models in the Storage panel or allow more storage for this site, then load the model again: finished layers are kept.`,
      { key, what },
    );
  }
  return new QloraError('STORAGE', `Browser storage failed while handling ${what} of ${key}: ${(e as Error)?.message ?? String(e)}`, { key, what });
}

async function put(store: KeyValueStore, key: string, what: string, entry: string, value: unknown): Promise<void> {
  try {
    await store.set(entry, value);
  } catch (e) {
    throw storageError(e, key, what);
  }
}

async function read(store: KeyValueStore, key: string, what: string, entry: string): Promise<unknown> {
  try {
    return await store.get(entry);
  } catch (e) {
    throw storageError(e, key, what);
  }
}

function damaged(key: string, what: string, why: string): QloraError {
  return new QloraError('STORAGE', `The cached model ${key} is damaged (${what}: ${why}). Delete it in the Storage panel and load the model again.`, { key, what });
}

// ---- records -----------------------------------------------------------------------------------

/** The small files a model needs besides its weights, as text. */
export interface ModelTextFiles {
  'config.json': string;
  'tokenizer.json': string;
  'tokenizer_config.json'?: string;
  'chat_template.jinja'?: string;
}

interface MetaRecord {
  version: 1;
  key: string;
  sourceId: string;
  label: string;
  quant: QuantLabel;
  files: ModelTextFiles;
  createdAt: number;
}

interface ProgressRecord {
  done: Partial<Record<PartName, number>>;
  updatedAt: number;
}

interface ManifestRecord {
  version: 1;
  complete: true;
  key: string;
  numLayers: number;
  tied: boolean;
  parts: Partial<Record<PartName, number>>;
  bytes: number;
  completedAt: number;
}

const FORMAT_VERSION = 1;

export interface CachedModelInfo {
  key: string;
  sourceId: string;
  label: string;
  quant: QuantLabel;
  /** False for an interrupted download: loading it again resumes from the parts done. */
  complete: boolean;
  bytes: number;
  partsDone: number;
  createdAt: number;
  updatedAt: number;
}

export interface CachedModel {
  key: string;
  info: CachedModelInfo;
  files: ModelTextFiles;
  config: ModelConfig;
  weights: HostModelWeights;
}

function textBytes(files: ModelTextFiles): number {
  return Object.values(files).reduce((n: number, t) => n + (t?.length ?? 0), 0);
}

// ---- writing (model-acquire.ts) ------------------------------------------------------------------

/**
 * Opens a model for writing and returns the parts already done (an interrupted earlier attempt). A
 * different config.json than last time means another model behind the same id: start over.
 */
export async function beginCachedModel(
  store: KeyValueStore,
  key: string,
  meta: { sourceId: string; label: string; quant: QuantLabel; files: ModelTextFiles },
): Promise<Map<PartName, number>> {
  const previous = (await read(store, key, 'its description', entryKey(key, 'meta'))) as MetaRecord | undefined;
  if (previous && (previous.version !== FORMAT_VERSION || previous.files?.['config.json'] !== meta.files['config.json'])) {
    await deleteCachedModel(store, key);
  } else if (previous) {
    const progress = (await read(store, key, 'its progress', entryKey(key, 'progress'))) as ProgressRecord | undefined;
    return new Map(Object.entries(progress?.done ?? {}) as [PartName, number][]);
  }
  const record: MetaRecord = { version: FORMAT_VERSION, key, ...meta, createdAt: Date.now() };
  await put(store, key, 'its description', entryKey(key, 'meta'), record);
  return new Map();
}

/** Saves one prepared part, then records it as done (in that order: a crash between redoes the part). */
export async function savePart(
  store: KeyValueStore,
  key: string,
  part: PartName,
  value: HostLayerWeights | HostWeight | Float32Array,
  done: Map<PartName, number>,
  opts: { entryMaxBytes?: number } = {},
): Promise<number> {
  const stored =
    value instanceof Float32Array ? compact(value) : 'proj' in value ? layerToStored(value) : weightToStored(value);
  const bytes = approxBytes(stored);
  try {
    await putChunked(store, partKey(key, part), stored, opts.entryMaxBytes);
  } catch (e) {
    throw storageError(e, key, part);
  }
  done.set(part, bytes);
  const progress: ProgressRecord = { done: Object.fromEntries(done), updatedAt: Date.now() };
  await put(store, key, part, entryKey(key, 'progress'), progress);
  return bytes;
}

export function saveLayer(store: KeyValueStore, key: string, layer: number, weights: HostLayerWeights, done: Map<PartName, number>): Promise<number> {
  return savePart(store, key, layerPart(layer), weights, done);
}

/** The parts a complete model has. */
export function modelParts(numLayers: number, tied: boolean): PartName[] {
  const parts: PartName[] = ['embed', 'norm'];
  if (!tied) parts.push('lm_head');
  for (let i = 0; i < numLayers; i++) parts.push(layerPart(i));
  return parts;
}

/** Writes the manifest, last: from now on the model reads as complete. */
export async function finishCachedModel(store: KeyValueStore, key: string, shape: { numLayers: number; tied: boolean }, done: Map<PartName, number>): Promise<void> {
  const parts: Partial<Record<PartName, number>> = {};
  for (const p of modelParts(shape.numLayers, shape.tied)) {
    const bytes = done.get(p);
    if (bytes === undefined) throw new QloraError('INTERNAL', `finishCachedModel(${key}): part ${p} was never saved`);
    parts[p] = bytes;
  }
  const bytes = Object.values(parts).reduce((a: number, b) => a + (b ?? 0), 0);
  const manifest: ManifestRecord = { version: FORMAT_VERSION, complete: true, key, ...shape, parts, bytes, completedAt: Date.now() };
  await put(store, key, 'its manifest', entryKey(key, 'manifest'), manifest);
}

// ---- reading -----------------------------------------------------------------------------------

async function listKeys(store: KeyValueStore): Promise<string[]> {
  try {
    return await store.keys();
  } catch (e) {
    throw storageError(e, 'the model cache', 'the list of entries');
  }
}

function modelKeyOf(entry: string): string | null {
  const at = entry.lastIndexOf('#');
  return at > 0 ? entry.slice(0, at) : null;
}

export async function isModelCached(store: KeyValueStore, key: string): Promise<boolean> {
  const manifest = (await read(store, key, 'its manifest', entryKey(key, 'manifest'))) as ManifestRecord | undefined;
  return manifest?.complete === true && manifest.version === FORMAT_VERSION;
}

/** The config of a complete cached model (null when not complete): whether to fetch anything at all. */
export async function completeModelConfig(store: KeyValueStore, key: string): Promise<ModelConfig | null> {
  if (!(await isModelCached(store, key))) return null;
  const meta = (await read(store, key, 'its description', entryKey(key, 'meta'))) as MetaRecord | undefined;
  const text = meta?.files?.['config.json'];
  if (text === undefined) throw damaged(key, 'meta', 'config.json is missing');
  return parseModelConfig(JSON.parse(text), `${meta?.label} (cached) config.json`);
}

/** Every cached model, complete or interrupted, with its size; newest first. */
export async function cachedModels(store: KeyValueStore): Promise<CachedModelInfo[]> {
  const models = new Set<string>();
  for (const k of await listKeys(store)) {
    if (k.endsWith('#meta')) models.add(modelKeyOf(k) as string);
  }
  const out: CachedModelInfo[] = [];
  for (const key of models) {
    const meta = (await read(store, key, 'its description', entryKey(key, 'meta'))) as MetaRecord | undefined;
    if (!meta) continue;
    const manifest = (await read(store, key, 'its manifest', entryKey(key, 'manifest'))) as ManifestRecord | undefined;
    const progress = (await read(store, key, 'its progress', entryKey(key, 'progress'))) as ProgressRecord | undefined;
    const done = Object.values(progress?.done ?? {}) as number[];
    const complete = manifest?.complete === true && manifest.version === FORMAT_VERSION;
    out.push({
      key,
      sourceId: meta.sourceId,
      label: meta.label,
      quant: meta.quant,
      complete,
      bytes: textBytes(meta.files) + (complete ? manifest.bytes : done.reduce((a, b) => a + b, 0)),
      partsDone: done.length,
      createdAt: meta.createdAt,
      updatedAt: complete ? manifest.completedAt : (progress?.updatedAt ?? meta.createdAt),
    });
  }
  return out.sort((a, b) => b.updatedAt - a.updatedAt);
}

/** Removes a model; the manifest goes first so a half-deleted model never reads as complete. */
export async function deleteCachedModel(store: KeyValueStore, key: string): Promise<void> {
  const manifestKey = entryKey(key, 'manifest');
  const entries = (await listKeys(store)).filter((k) => modelKeyOf(k) === key);
  try {
    await store.del(manifestKey);
    for (const k of entries) if (k !== manifestKey) await store.del(k);
  } catch (e) {
    throw storageError(e, key, 'its entries');
  }
}

async function readPart(store: KeyValueStore, key: string, p: PartName): Promise<unknown> {
  let v: unknown;
  try {
    v = await getChunked(store, partKey(key, p));
  } catch (e) {
    throw e instanceof BrokenEntryError ? damaged(key, p, e.message) : storageError(e, key, p);
  }
  if (v === undefined) throw damaged(key, p, 'entry missing');
  return v;
}

/** One decoder layer of a cached model (the Learn view looks at one weight; no need to read them all). */
export async function loadCachedLayer(store: KeyValueStore, key: string, layer: number): Promise<HostLayerWeights> {
  const stored = await readPart(store, key, layerPart(layer));
  try {
    return layerFromStored(stored, layerPart(layer));
  } catch (e) {
    if (isQloraError(e)) throw e;
    throw damaged(key, layerPart(layer), (e as Error).message);
  }
}

export async function loadCachedModel(store: KeyValueStore, key: string): Promise<CachedModel> {
  const manifest = (await read(store, key, 'its manifest', entryKey(key, 'manifest'))) as ManifestRecord | undefined;
  if (!manifest?.complete || manifest.version !== FORMAT_VERSION) {
    throw new QloraError('STORAGE', `No complete cached model ${key}: load it from its source again (an interrupted download resumes).`, { key });
  }
  const meta = (await read(store, key, 'its description', entryKey(key, 'meta'))) as MetaRecord | undefined;
  if (!meta?.files?.['config.json'] || !meta.files['tokenizer.json']) throw damaged(key, 'meta', 'the config or tokenizer text is missing');
  const part = (p: PartName) => readPart(store, key, p);
  let weights: HostModelWeights;
  try {
    const layers: HostLayerWeights[] = [];
    for (let i = 0; i < manifest.numLayers; i++) layers.push(layerFromStored(await part(layerPart(i)), layerPart(i)));
    weights = {
      embed: weightFromStored(await part('embed'), 'embed'),
      lmHead: manifest.tied ? null : weightFromStored(await part('lm_head'), 'lm_head'),
      finalNorm: vectorFromStored(await part('norm'), 'norm'),
      layers,
    };
  } catch (e) {
    if (isQloraError(e)) throw e;
    throw damaged(key, 'weights', (e as Error).message);
  }
  const config = parseModelConfig(JSON.parse(meta.files['config.json']), `${meta.label} (cached) config.json`);
  const info: CachedModelInfo = {
    key,
    sourceId: meta.sourceId,
    label: meta.label,
    quant: meta.quant,
    complete: true,
    bytes: textBytes(meta.files) + manifest.bytes,
    partsDone: Object.keys(manifest.parts).length,
    createdAt: meta.createdAt,
    updatedAt: manifest.completedAt,
  };
  return { key, info, files: meta.files, config, weights };
}

/** The cached text files as a FileReader, so readTokenizer / readModelConfig work on them unchanged. */
export function cachedFilesReader(model: Pick<CachedModel, 'files' | 'info'>): FileReader {
  const encoder = new TextEncoder();
  const files = model.files as unknown as Record<string, string | undefined>;
  return {
    location: `${model.info.label} (cached)/`,
    read: async (name) => {
      const text = files[name];
      return text === undefined ? null : encoder.encode(text);
    },
  };
}
