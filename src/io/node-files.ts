// Node-only FileReader over a local folder (the CLI and tests), writing output folders, and reading a
// dataset from a local file or from where it is kept (dataset-source.ts).
import { readFile, mkdir, writeFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { asyncBufferFromFile } from 'hyparquet';
import { QloraError } from '../errors';
import { isParquetName, parquetToJsonLines } from '../data/parquet';
import { fetchDatasetText } from './dataset-source';
import { datasetText } from '../data/text-encoding';
import type { DatasetFetchOptions, DatasetText } from './dataset-source';
import type { FileReader } from './model-files';
import { urlReader } from './model-files';
import { SIZE_LIMITS, checkSize, modelFileLimit } from './size-limits';

export function dirReader(dir: string): FileReader {
  const root = resolve(dir);
  return {
    location: root + '/',
    async read(name) {
      const path = join(root, name);
      const limit = modelFileLimit(name);
      try {
        if (limit) checkSize(limit, path, (await stat(path)).size);
        return new Uint8Array(await readFile(path));
      } catch (e) {
        if (e instanceof QloraError) throw e;
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new QloraError('CONFIG_INVALID', `Could not read ${join(root, name)}: ${(e as Error).message}. Check that it is a readable file.`);
      }
    },
  };
}

/** A local folder or an http(s) URL. */
export function readerFor(location: string): FileReader {
  return /^https?:\/\//.test(location) ? urlReader(location) : dirReader(location);
}

export async function writeFiles(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
}

/**
 * A dataset for the CLI: "hf://datasets/owner/name[:split]" or an http(s) URL (dataset-source.ts), else
 * a local file; a .parquet file is read by byte ranges, never whole.
 */
export async function readDataset(location: string, opts: DatasetFetchOptions = {}): Promise<DatasetText> {
  if (/^(hf|https?):\/\//i.test(location)) return fetchDatasetText(location, opts);
  try {
    if (isParquetName(location)) return { text: await parquetToJsonLines(await asyncBufferFromFile(location), basename(location), { limit: opts.limit }), fileName: basename(location) };
    checkSize(SIZE_LIMITS.dataset, location, (await stat(location)).size);
    return { text: datasetText(new Uint8Array(await readFile(location)), basename(location)), fileName: basename(location) };
  } catch (e) {
    if (e instanceof QloraError) throw e;
    throw new QloraError('ARGUMENT_INVALID', `Cannot read --data ${location}: ${(e as Error).message}`);
  }
}
