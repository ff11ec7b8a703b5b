// A Blob (a File the user picked) as hyparquet's AsyncBuffer: each read is `blob.slice(start, end)`,
// so only the bytes asked for are read from disk.
import type { AsyncBuffer } from 'hyparquet';

export function blobAsyncBuffer(blob: Blob): AsyncBuffer {
  return { byteLength: blob.size, slice: (start, end) => blob.slice(start, end).arrayBuffer() };
}
