// A dataset's text from where it is kept: a Hub dataset ("owner/name[:split]", hub-dataset.ts), an
// http(s) URL of a .parquet file (read by Range requests, row group by row group: data/parquet.ts), or
// any other http(s) URL of a JSON / JSONL / CSV file. A split in several shards (parquet or JSON
// Lines) becomes one JSON Lines text, shard after shard; other formats must be one file.
import { asyncBufferFromUrl } from 'hyparquet';
import type { AsyncBuffer } from 'hyparquet';
import { QloraError } from '../errors';
import { isParquetName, parquetToJsonLines } from '../data/parquet';
import { concatChunks, downloadFile, type ChunkSink, type TransferProgress } from './download';
import { isHubDatasetSpec, parseHubDatasetSpec, resolveHubDataset } from './hub-dataset';
import { datasetText } from '../data/text-encoding';
import { SIZE_LIMITS } from './size-limits';

export interface DatasetText {
  readonly text: string;
  /** The name the parser goes by (its extension picks JSON / JSONL / CSV) and the page shows. */
  readonly fileName: string;
}

export interface DatasetFetchOptions {
  /** The Hub's address (huggingface_hub's HF_ENDPOINT); https://huggingface.co by default. */
  readonly endpoint?: string;
  /** Authorization for private or gated datasets; kept in memory only. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Read only the first N rows of Parquet files (the rest is never downloaded). */
  readonly limit?: number;
  readonly signal?: AbortSignal;
  /** Progress of each JSON / JSONL / CSV file's download. */
  readonly onProgress?: (p: TransferProgress, url: string) => void;
  /** Downloader settings (download.ts has the defaults); tests shorten them. */
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly stallTimeoutMs?: number;
}

function networkError(url: string, e: unknown): QloraError {
  if (e instanceof QloraError) return e;
  return new QloraError('NETWORK', `Could not read ${url}: ${(e as Error).message}. Check the address and your connection (the server must allow cross-origin requests).`);
}

async function urlAsyncBuffer(url: string, headers: Readonly<Record<string, string>>): Promise<AsyncBuffer> {
  try {
    const file = await asyncBufferFromUrl({ url, requestInit: { headers } });
    return {
      byteLength: file.byteLength,
      slice: async (start, end) => {
        try {
          return await file.slice(start, end);
        } catch (e) {
          throw networkError(url, e);
        }
      },
    };
  } catch (e) {
    throw networkError(url, e);
  }
}

/** A JSON / JSONL / CSV file through the models' downloader: stall timeout, retries that resume, the size cap. */
async function urlText(url: string, name: string, opts: DatasetFetchOptions): Promise<string> {
  const parts: Uint8Array[] = [];
  const sink: ChunkSink = { write: (c) => void parts.push(c.slice()), reset: () => void (parts.length = 0) };
  const { headers, signal, retries, retryDelayMs, stallTimeoutMs } = opts;
  const onProgress = opts.onProgress && ((p: TransferProgress) => opts.onProgress?.(p, url));
  await downloadFile(url, { sink, headers, signal, retries, retryDelayMs, stallTimeoutMs, onProgress, limit: SIZE_LIMITS.dataset });
  return datasetText(concatChunks(parts), name);
}

async function fileText(url: string, path: string, opts: DatasetFetchOptions, limit?: number): Promise<string> {
  return isParquetName(path) ? parquetToJsonLines(await urlAsyncBuffer(url, opts.headers ?? {}), path, { limit }) : urlText(url, path, opts);
}

/** The text of the dataset at `location` (a Hub dataset spec or an http(s) URL). */
export async function fetchDatasetText(location: string, opts: DatasetFetchOptions = {}): Promise<DatasetText> {
  if (!isHubDatasetSpec(location)) {
    const url = location.trim();
    const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'data.json');
    return { text: await fileText(url, name, opts, opts.limit), fileName: name };
  }
  const spec = parseHubDatasetSpec(location);
  const files = await resolveHubDataset(spec, opts);
  if (files.length === 1) return { text: await fileText(files[0].url, files[0].path, opts, opts.limit), fileName: `${spec.id}/${files[0].path}` };
  const lines = files.every((f) => /\.(parquet|jsonl|ndjson)$/i.test(f.path));
  if (!lines) {
    throw new QloraError('DATASET_INVALID', `Split "${spec.split}" of ${spec.id} is ${files.length} files (${files.map((f) => f.path).join(', ')}); only Parquet or JSON Lines shards are joined. Name one file: "${spec.id}/${files[0].path}".`);
  }
  let text = '';
  let rows = 0;
  for (const f of files) {
    if (opts.limit !== undefined && rows >= opts.limit) break;
    const part = (await fileText(f.url, f.path, opts, opts.limit === undefined ? undefined : opts.limit - rows)).replace(/\s+$/, '');
    if (part === '') continue;
    rows += part.split('\n').length;
    text += text === '' ? part : `\n${part}`;
  }
  return { text, fileName: `${spec.id}:${spec.split}.jsonl` };
}
