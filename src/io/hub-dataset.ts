// A Hub dataset named the way people name them — "owner/name", with an optional "@revision" and
// either ":split" or "/path/to/file" (and the "hf://datasets/" prefix pandas, DuckDB and
// huggingface_hub's HfFileSystem use; a revision holding "/" is percent-encoded there, as in
// "@refs%2Fconvert%2Fparquet") — resolved to the URLs of its data files through the Hub's layout:
//   {endpoint}/api/datasets/{id}/tree/{revision}?recursive=true   the file list (JSON, paged by Link)
//   {endpoint}/datasets/{id}/resolve/{revision}/{path}           each file's bytes
// Without a file, the split's files are found as `datasets` finds them when a repo has no loading
// script: a path whose words (split at / - _ . space digits) include one of the split's names
// ("train"/"training", "validation"/"valid"/"dev"/"val", "test"/"testing"/"eval"/"evaluation"); a
// repo that names no split at all is all train. Of the matching files, the first data format present
// in the order parquet, jsonl, json, csv, tsv is taken, every shard of it in path order.
import { QloraError } from '../errors';
import { HUB_ORIGIN, isHubId } from './hub';

export interface HubDatasetSpec {
  readonly id: string;
  readonly revision: string;
  /** The split to load when no file is named (default "train"). */
  readonly split: string;
  /** A path inside the repo, or null to pick the split's files. */
  readonly file: string | null;
}

export interface HubDatasetFile {
  readonly path: string;
  readonly url: string;
}

export const DATA_EXTENSIONS = ['parquet', 'jsonl', 'ndjson', 'json', 'csv', 'tsv'] as const;
const EXTENSION_ORDER: readonly (readonly string[])[] = [['parquet'], ['jsonl', 'ndjson'], ['json'], ['csv'], ['tsv']];

const SPLIT_NAMES: Readonly<Record<string, readonly string[]>> = {
  train: ['train', 'training'],
  validation: ['validation', 'valid', 'dev', 'val'],
  test: ['test', 'testing', 'eval', 'evaluation'],
};

const PREFIX = 'hf://datasets/';
const SPEC = /^([^/@:]+\/[^/@:]+)(?:@([^/:]+))?(?::([A-Za-z0-9_.-]+)|\/(.+))?$/;

function invalid(text: string, why: string): QloraError {
  return new QloraError('ARGUMENT_INVALID', `"${text}" is not a Hub dataset: ${why}. Expected "owner/name", "owner/name:split", "owner/name/path/to/file.parquet" (optionally "@revision" after the name, or the "hf://datasets/" prefix).`);
}

/** Whether text names a Hub dataset rather than a URL (a bare "owner/name…" or "hf://datasets/…"). */
export function isHubDatasetSpec(text: string): boolean {
  const t = text.trim();
  if (t.startsWith(PREFIX)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) return false;
  const m = SPEC.exec(t);
  return m !== null && isHubId(m[1]);
}

export function parseHubDatasetSpec(text: string): HubDatasetSpec {
  const t = text.trim();
  const body = t.startsWith(PREFIX) ? t.slice(PREFIX.length) : t;
  const m = SPEC.exec(body);
  if (!m) throw invalid(t, 'it does not have the form owner/name');
  if (!isHubId(m[1])) throw invalid(t, `"${m[1]}" is not a valid repo id (letters, digits, "-", "_", ".")`);
  let revision = 'main';
  if (m[2] !== undefined) {
    try {
      revision = decodeURIComponent(m[2]);
    } catch {
      throw invalid(t, `the revision "${m[2]}" is not valid percent-encoding`);
    }
  }
  const file = m[4] ?? null;
  if (file !== null && (file.split('/').some((p) => p === '..' || p === '') || !DATA_EXTENSIONS.some((e) => file.toLowerCase().endsWith(`.${e}`)))) {
    throw invalid(t, `"${file}" is not a data file path (${DATA_EXTENSIONS.map((e) => `.${e}`).join(', ')})`);
  }
  return { id: m[1], revision, split: m[3] ?? 'train', file };
}

export function hubDatasetFileUrl(endpoint: string, spec: Pick<HubDatasetSpec, 'id' | 'revision'>, path: string): string {
  return `${endpoint.replace(/\/+$/, '')}/datasets/${spec.id}/resolve/${encodeURIComponent(spec.revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

function extensionOf(path: string): string {
  return path.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? '';
}

function pathWords(path: string): string[] {
  return path.toLowerCase().split(/[/\-._ 0-9]+/).filter(Boolean);
}

/** The split's data files among a repo's paths (see the header for the rule). */
export function splitDataFiles(paths: readonly string[], split: string): string[] {
  const data = paths.filter((p) => (DATA_EXTENSIONS as readonly string[]).includes(extensionOf(p)) && !p.split('/').some((part) => part.startsWith('.') || part.startsWith('_')));
  const names = SPLIT_NAMES[split] ?? [split.toLowerCase()];
  const allNames = new Set([...Object.values(SPLIT_NAMES).flat(), split.toLowerCase()]);
  const namesAnySplit = data.some((p) => pathWords(p).some((w) => allNames.has(w)));
  const matching = namesAnySplit ? data.filter((p) => pathWords(p).some((w) => names.includes(w))) : split === 'train' ? data : [];
  for (const group of EXTENSION_ORDER) {
    const files = matching.filter((p) => group.includes(extensionOf(p)));
    if (files.length) return files.sort();
  }
  return [];
}

interface TreeEntry {
  type: string;
  path: string;
}

async function getJson(url: string, headers: Readonly<Record<string, string>>, what: string): Promise<{ body: unknown; next: string | null }> {
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (e) {
    throw new QloraError('NETWORK', `Could not reach the Hub for ${what} (${url}): ${(e as Error).message}. Check your connection.`);
  }
  if (res.status === 401 || res.status === 403) {
    throw new QloraError('NETWORK', `The Hub refused to list ${what} (HTTP ${res.status}): it is private or gated. Accept its terms on the Hub and give a token (HF_TOKEN for the CLI).`);
  }
  if (res.status === 404) throw new QloraError('ARGUMENT_INVALID', `The Hub has no ${what} (HTTP 404 for ${url}). Check the owner/name and the revision.`);
  if (!res.ok) throw new QloraError('NETWORK', `Listing ${what} failed: HTTP ${res.status} ${res.statusText}.`);
  const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
  return { body: await res.json(), next };
}

/** Every file path of the repo at the revision, following the tree listing's pages. */
export async function listHubDatasetFiles(spec: HubDatasetSpec, opts: { endpoint?: string; headers?: Readonly<Record<string, string>> } = {}): Promise<string[]> {
  const endpoint = (opts.endpoint ?? HUB_ORIGIN).replace(/\/+$/, '');
  const what = `dataset ${spec.id}@${spec.revision}`;
  let url: string | null = `${endpoint}/api/datasets/${spec.id}/tree/${encodeURIComponent(spec.revision)}?recursive=true`;
  const paths: string[] = [];
  for (let page = 0; url !== null; page++) {
    if (page >= 1000) throw new QloraError('NETWORK', `The file list of ${what} did not end after 1000 pages.`);
    const { body, next }: { body: unknown; next: string | null } = await getJson(url, opts.headers ?? {}, what);
    if (!Array.isArray(body)) throw new QloraError('NETWORK', `The Hub's file list of ${what} is not a JSON list; is ${endpoint} a Hub endpoint?`);
    for (const e of body as TreeEntry[]) if (e && e.type === 'file' && typeof e.path === 'string') paths.push(e.path);
    url = next === null ? null : new URL(next, url).href;
  }
  return paths;
}

/** The files to load: the named one, or the split's shards. */
export async function resolveHubDataset(spec: HubDatasetSpec, opts: { endpoint?: string; headers?: Readonly<Record<string, string>> } = {}): Promise<HubDatasetFile[]> {
  const endpoint = opts.endpoint ?? HUB_ORIGIN;
  if (spec.file !== null) return [{ path: spec.file, url: hubDatasetFileUrl(endpoint, spec, spec.file) }];
  const paths = await listHubDatasetFiles(spec, opts);
  const files = splitDataFiles(paths, spec.split);
  if (files.length === 0) {
    const data = paths.filter((p) => (DATA_EXTENSIONS as readonly string[]).includes(extensionOf(p)));
    const shown = data.slice(0, 8).join(', ') + (data.length > 8 ? `, … (${data.length} in all)` : '');
    throw new QloraError('DATASET_INVALID', `Dataset ${spec.id}@${spec.revision} has no data files for split "${spec.split}"` +
      (data.length ? `; its data files are ${shown}. Name another split ("${spec.id}:validation") or one file ("${spec.id}/${data[0]}").` : '; it holds no .parquet, .jsonl, .json or .csv files. Datasets built by a loading script are not supported; try its Parquet conversion ("@refs%2Fconvert%2Fparquet").'));
  }
  return files.map((path) => ({ path, url: hubDatasetFileUrl(endpoint, spec, path) }));
}
