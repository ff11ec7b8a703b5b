// A Blob (a File the user picked) as hyparquet's AsyncBuffer: each read is `blob.slice(start, end)`,
// so only the bytes asked for are read from disk; and a picked dataset file as text.
import type { AsyncBuffer } from 'hyparquet';
import { isParquetName, parquetToJsonLines } from '../data/parquet';
import { datasetText } from '../data/text-encoding';
import { SIZE_LIMITS, checkSize } from './size-limits';

export function blobAsyncBuffer(blob: Blob): AsyncBuffer {
  return { byteLength: blob.size, slice: (start, end) => blob.slice(start, end).arrayBuffer() };
}

/**
 * A dataset file the user picked, as text: Parquet read a row group at a time (never whole), any
 * other file decoded by its byte-order mark (UTF-8, UTF-16) and refused in another encoding. Those are
 * read whole, so within the dataset cap (src/io/size-limits.ts), checked before reading.
 */
export async function readDatasetFile(file: Blob, fileName: string): Promise<string> {
  if (isParquetName(fileName)) return parquetToJsonLines(blobAsyncBuffer(file), fileName);
  checkSize(SIZE_LIMITS.dataset, fileName, file.size);
  return datasetText(new Uint8Array(await file.arrayBuffer()), fileName);
}
