// A .zip of named files for downloads (an adapter folder, a small merged model), through fflate's
// zipSync. Text compresses well and is deflated; weights are stored as they are: float tensors gain
// a few percent from deflate at a large CPU cost. fflate writes no ZIP64 records, so an archive (or a
// file in it) must stay under 4 GiB: bigger exports are downloaded file by file instead.
import { zipSync, type Zippable } from 'fflate';
import { QloraError } from '../errors';

export interface ExportFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface ZipOptions {
  /** Modification time written for every entry (zip stores local DOS time, 1980..2107); default now. */
  readonly mtime?: Date;
  /** Deflate level for text files (0 = store, 9 = smallest); weights are always stored. Default 6. */
  readonly level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
}

/** The ZIP limit without ZIP64: 32-bit sizes and offsets. */
export const ZIP_MAX_BYTES = 2 ** 32 - 1;

const TEXT_FILE = /\.(json|md|txt|py|jinja|yaml|yml|model|jsonl|csv)$/i;

export function makeZip(files: readonly ExportFile[] | Readonly<Record<string, Uint8Array>>, opts: ZipOptions = {}): Uint8Array {
  const list: readonly ExportFile[] = Array.isArray(files)
    ? (files as readonly ExportFile[])
    : Object.entries(files as Record<string, Uint8Array>).map(([name, bytes]) => ({ name, bytes }));
  const total = list.reduce((n, f) => n + f.bytes.byteLength, 0);
  if (total >= ZIP_MAX_BYTES) {
    throw new QloraError(
      'ARGUMENT_INVALID',
      `These files add up to ${(total / 2 ** 30).toFixed(2)} GiB, and a zip without ZIP64 holds less than 4 GiB. Download the files one by one instead.`,
    );
  }
  const mtime = opts.mtime ?? new Date();
  const level = opts.level ?? 6;
  const entries: Zippable = {};
  for (const f of list) {
    if (!f.name || f.name.startsWith('/') || f.name.split('/').includes('..')) {
      throw new QloraError('ARGUMENT_INVALID', `"${f.name}" is not a relative file name for a zip entry.`);
    }
    if (Object.prototype.hasOwnProperty.call(entries, f.name)) throw new QloraError('ARGUMENT_INVALID', `"${f.name}" is given twice.`);
    entries[f.name] = [f.bytes, { level: TEXT_FILE.test(f.name) ? level : 0, mtime }];
  }
  return zipSync(entries);
}
