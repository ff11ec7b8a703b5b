// A dataset's text from where it is kept: a Hub dataset ("owner/name[:split]", hub-dataset.ts), an
// http(s) URL of a .parquet file (read by Range requests, row group by row group: data/parquet.ts), or
// any other http(s) URL of a JSON / JSONL / CSV file. A split in several shards (parquet or JSON
// Lines) becomes one JSON Lines text, shard after shard; other formats must be one file.
import { asyncBufferFromUrl } from 'hyparquet';
import type { AsyncBuffer } from 'hyparquet';
import { QloraError } from '../errors';
import { isParquetName, parquetToJsonLines } from '../data/parquet';
import { isHubDatasetSpec, parseHubDatasetSpec, resolveHubDataset } from './hub-dataset';
import { datasetText } from '../data/text-encoding';

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

async function urlText(url: string, name: string, headers: Readonly<Record<string, string>>): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (e) {
    throw networkError(url, e);
  }
  if (!res.ok) throw new QloraError('NETWORK', `Fetching ${url} failed with HTTP ${res.status} ${res.statusText}. Check the address.`);
  return datasetText(new Uint8Array(await res.arrayBuffer()), name);
}

async function fileText(url: string, path: string, opts: DatasetFetchOptions, limit?: number): Promise<string> {
  const headers = opts.headers ?? {};
  return isParquetName(path) ? parquetToJsonLines(await urlAsyncBuffer(url, headers), path, { limit }) : urlText(url, path, headers);
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
