// The session's model: acquired (streamed, quantized as it streams, cached in the host's key-value
// store: IndexedDB in the page) or found in the cache, then uploaded to the GPU. The host copy is
// dropped after the upload — a large model is not kept twice — and read back from the cache when an
// export or the Learn view needs it.
import type { GpuContext } from '../gpu/context';
import { uploadModelWeights, destroyModelWeights } from '../engine/gpu-weights';
import type { GpuModelWeights } from '../engine/gpu-weights';
import type { BaseQuant } from '../engine/base-weights';
import type { ModelConfig } from '../formats/model-config';
import type { TextTokenizer } from '../data/tokenizer';
import { checkTokenizerFits, readTokenizer } from '../io/model-files';
import { acquireModel } from '../io/model-acquire';
import type { AcquireProgress } from '../io/model-acquire';
import { cachedFilesReader, loadCachedModel } from '../io/model-cache';
import type { KeyValueStore, CachedModel } from '../io/model-cache';
import { hubModel, localModel, urlModel } from '../io/hub';
import type { ModelLocation } from '../io/hub';
import { modelParameterCount } from '../engine/memory-estimate';
import type { DownloadProgress, ModelChoice, ModelSummary } from '../worker/protocol';

export interface SessionModel {
  summary: ModelSummary;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  weights: GpuModelWeights;
  cacheKey: string;
  /** Where the model came from (hf:id@revision, url:…, local:…, demo:…): what an export names as its base. */
  sourceId: string;
  quant: BaseQuant;
}

/** The base model as an export names it: a Hub id transformers can load, or where it came from. */
export interface BaseModelRef {
  /** The Hub id, for from_pretrained; null when the model is not on the Hub. */
  hubId: string | null;
  revision: string | null;
  /** For a model that is not on the Hub: where it came from, in words. */
  source: string | null;
  /** A short name for file names. */
  stem: string;
}

export function baseModelRef(m: SessionModel): BaseModelRef {
  const hub = /^hf:(.+)@([^@]+)$/.exec(m.sourceId);
  const stem = (hub ? hub[1] : m.summary.name).replace(/\/+$/, '').split('/').pop()!.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  if (hub) return { hubId: hub[1], revision: hub[2] === 'main' ? null : hub[2], source: null, stem };
  const url = /^(?:url|demo):/.test(m.sourceId) ? m.summary.name : null;
  const source = m.sourceId.startsWith('demo:') ? "this app's demo model (public/demo/tiny-llama/ in its repository)"
    : m.sourceId.startsWith('url:') ? url ?? m.sourceId.slice(4)
    : `the local model folder "${m.summary.name}"`;
  return { hubId: null, revision: null, source, stem };
}

export function locationOf(choice: ModelChoice): ModelLocation {
  switch (choice.kind) {
    case 'demo': {
      const m = urlModel(choice.baseUrl);
      return { ...m, id: 'demo:tiny-llama', label: 'Demo (tiny Llama)' };
    }
    case 'hub':
      return hubModel(choice.id, { revision: choice.revision, token: choice.token });
    case 'url':
      return urlModel(choice.url, { token: choice.token });
    case 'files':
      return localModel(choice.files);
  }
}

function toDownloadProgress(p: AcquireProgress): DownloadProgress {
  return { phase: p.phase, loaded: p.loaded, total: p.total, bytesPerSecond: p.bytesPerSecond, etaSeconds: p.etaSeconds };
}

/** Uploads a cached model to the GPU; the host weights can be garbage-collected afterwards. */
export async function modelFromCache(ctx: GpuContext, cached: CachedModel, quant: BaseQuant, fromCache: boolean, maxPositions = 4096): Promise<SessionModel> {
  const tokenizer = await readTokenizer(cachedFilesReader(cached));
  checkTokenizerFits(tokenizer, cached.config, cached.info.label);
  const weights = uploadModelWeights(ctx, cached.config, cached.weights, maxPositions);
  return {
    summary: {
      key: cached.key,
      name: cached.info.label,
      config: cached.config,
      quant,
      parameters: modelParameterCount(cached.config),
      gpuBytes: weights.bytes,
      fromCache,
    },
    config: cached.config,
    tokenizer,
    weights,
    cacheKey: cached.key,
    sourceId: cached.info.sourceId,
    quant,
  };
}

export async function acquireAndLoad(
  ctx: GpuContext,
  store: KeyValueStore,
  choice: ModelChoice,
  quant: BaseQuant,
  onProgress: (p: DownloadProgress) => void,
): Promise<SessionModel> {
  const result = await acquireModel(locationOf(choice), { store, quant, onProgress: (p) => onProgress(toDownloadProgress(p)) });
  onProgress({ phase: 'upload to the GPU', loaded: 0, total: 0, bytesPerSecond: 0, etaSeconds: null });
  return modelFromCache(ctx, await loadCachedModel(store, result.key), quant, result.fromCache);
}

export function releaseModel(ctx: GpuContext, m: SessionModel): void {
  destroyModelWeights(ctx, m.weights);
}
