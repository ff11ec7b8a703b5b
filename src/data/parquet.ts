// Parquet (the Hub's dataset format) as JSON Lines text, read with hyparquet from an AsyncBuffer (a
// byte range reader over a File, a local file or an http(s) URL with Range requests), one row group
// at a time: the file's bytes are never held whole, only one row group's rows beside the text being
// built. The text then goes the way every dataset goes (dataset.ts → records.ts), so a Parquet file
// loads exactly like the same rows in a .jsonl file, row N being line N + 1 in any problem report.
// Values become JSON as `datasets` shows them: strings, numbers, lists, structs as objects (chat
// `messages`); int64 as a number when it is exact, else as its decimal string; bytes as a list of
// numbers; timestamps as ISO strings. Codecs: snappy (pyarrow's default) built in, and gzip, brotli,
// zstd, lz4 through hyparquet-compressors.
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { QloraError } from '../errors';

export type { AsyncBuffer } from 'hyparquet';

export function isParquetName(name: string): boolean {
  return /\.parquet$/i.test(name.split(/[?#]/)[0]);
}

function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Array.from(v);
  return v;
}

async function metadataOf(file: AsyncBuffer, source: string): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(file);
  } catch (e) {
    if (e instanceof QloraError) throw e;
    throw new QloraError('DATASET_INVALID', `${source} is not a readable Parquet file (${(e as Error).message}). Expected a .parquet file as pyarrow or the Hub writes it; re-export it, or give the data as JSON Lines or CSV.`);
  }
}

/** The rows (the first `limit` when given) as JSON Lines, reading one row group at a time. */
export async function parquetToJsonLines(file: AsyncBuffer, source: string, opts: { limit?: number } = {}): Promise<string> {
  const metadata = await metadataOf(file, source);
  const total = Number(metadata.num_rows);
  const end = Math.min(total, opts.limit ?? total);
  let text = '';
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    if (rowStart >= end) break;
    const rowEnd = Math.min(end, rowStart + Number(group.num_rows));
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors });
    } catch (e) {
      if (e instanceof QloraError) throw e;
      throw new QloraError('DATASET_INVALID', `${source}: rows ${rowStart}–${rowEnd - 1} could not be decoded (${(e as Error).message}).`);
    }
    const lines = rows.map((r) => JSON.stringify(r, jsonValue)).join('\n');
    text += text === '' ? lines : `\n${lines}`;
    rowStart = rowEnd;
  }
  return text;
}
