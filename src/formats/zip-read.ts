// Reading entries out of a zip held in memory, checked the way unzip -t checks them: the central
// directory's sizes bound the work before anything inflates, the output is counted as it streams out of
// fflate's Inflate (a lying directory stops at the declared size, not at the end of memory), and every
// entry's CRC-32 is compared (fflate's unzipSync skips it: a flipped byte imported as a weight of -1.85e37).
// Only what adapter zips use: stored and deflated entries, no encryption, no ZIP64 (fflate's own zips).
import { Inflate } from 'fflate';
import { QloraError } from '../errors';
import type { QloraErrorCode } from '../errors';
import { crc32 } from './crc32';

export interface ZipEntryInfo {
  /** The path inside the zip ("folder/adapter_config.json"). */
  name: string;
  /** 0: stored, 8: deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  /** The inflated size the central directory declares. */
  size: number;
  /** Where the entry's local header starts. */
  localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/**
 * Compressed bytes pushed into the inflater at a time. Deflate expands at most 1032:1, so one push
 * yields at most ~16 MiB: the running cap and the head check stop a bomb within that of where it starts.
 */
const PUSH_BYTES = 16 << 10;
/** The output first allocated: a file's head (a safetensors header is far smaller), grown from there. */
const HEAD_BYTES = 1 << 20;

export interface ZipReadOptions {
  /** The error code refusals carry (the caller knows what the zip was meant to be). */
  code: QloraErrorCode;
}

function refuse(opts: ZipReadOptions, zipName: string, what: string): never {
  throw new QloraError(opts.code, `${zipName}: ${what}`, { fileName: zipName });
}

/** Every entry the central directory lists, in its order. */
export function zipDirectory(zip: Uint8Array, zipName: string, opts: ZipReadOptions): ZipEntryInfo[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const notZip = (why: string): never => {
    throw new QloraError(opts.code, `${zipName} is not a readable zip file (${why}). Zip the folder again.`, { fileName: zipName });
  };
  // The end record is the last 22 bytes plus a comment of at most 65,535.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) notZip('no end-of-directory record: truncated, or not a zip');
  const count = view.getUint16(eocd + 10, true);
  const dirSize = view.getUint32(eocd + 12, true);
  const dirOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || dirOffset === 0xffffffff || dirSize === 0xffffffff) notZip('a ZIP64 archive, which only zips past 4 GiB need');
  if (dirOffset + dirSize > eocd) notZip('the central directory lies past its end record: truncated');
  const entries: ZipEntryInfo[] = [];
  let p = dirOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CENTRAL) notZip(`entry ${k + 1} of ${count} in the central directory is damaged`);
    const flags = view.getUint16(p + 8, true);
    const nameLength = view.getUint16(p + 28, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLength));
    if (flags & 1) refuse(opts, zipName, `"${name}" is encrypted. Zip the adapter again without a password.`);
    entries.push({
      name,
      method: view.getUint16(p + 10, true),
      crc32: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localOffset: view.getUint32(p + 42, true),
    });
    p += 46 + nameLength + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
  }
  return entries;
}

/**
 * The inflated bytes of `entry`, never more than its declared size (checked as the output streams),
 * with its CRC-32 checked. `checkHead` sees the output so far after each piece until it returns true:
 * a file format can refuse a zip bomb by its first bytes instead of after inflating it all.
 */
export function inflateZipEntry(zip: Uint8Array, entry: ZipEntryInfo, zipName: string, opts: ZipReadOptions, checkHead?: (head: Uint8Array) => boolean): Uint8Array {
  const where = `"${entry.name}" in ${zipName}`;
  const damaged = (what: string): never => {
    throw new QloraError(opts.code, `${where} is damaged: ${what}. Download or copy the zip again (or zip the adapter folder again).`, { fileName: zipName, entry: entry.name });
  };
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const at = entry.localOffset;
  if (at + 30 > zip.length || view.getUint32(at, true) !== LOCAL) damaged('its local header is missing');
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  if (start + entry.compressedSize > zip.length) damaged(`it needs ${entry.compressedSize} compressed bytes from offset ${start}, past the end of the file (truncated)`);
  const compressed = zip.subarray(start, start + entry.compressedSize);

  // The output grows as it arrives, to the declared size only once the head is accepted: a bomb that
  // declares 1.9 GB honestly costs what inflates before its head is refused, not 1.9 GB up front.
  let out = new Uint8Array(Math.min(entry.size, HEAD_BYTES));
  let written = 0;
  let crc = 0;
  let headChecked = !checkHead;
  const take = (piece: Uint8Array) => {
    const end = written + piece.length;
    if (end > entry.size) {
      damaged(`it inflates to more than the ${entry.size.toLocaleString('en')} bytes the zip declares (stopped there)`);
    }
    if (end > out.length) {
      const grown = new Uint8Array(headChecked ? entry.size : Math.min(entry.size, Math.max(2 * out.length, end)));
      grown.set(out.subarray(0, written));
      out = grown;
    }
    out.set(piece, written);
    written = end;
    crc = crc32(piece, crc);
    if (!headChecked) headChecked = checkHead!(out.subarray(0, written));
  };
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) damaged(`it is stored uncompressed, yet ${entry.compressedSize} bytes are declared for ${entry.size}`);
    for (let i = 0; i < compressed.length; i += PUSH_BYTES) take(compressed.subarray(i, i + PUSH_BYTES));
  } else if (entry.method === 8) {
    const inflater = new Inflate((piece) => take(piece));
    try {
      for (let i = 0; i < compressed.length || i === 0; i += PUSH_BYTES) inflater.push(compressed.subarray(i, i + PUSH_BYTES), i + PUSH_BYTES >= compressed.length);
    } catch (e) {
      if (e instanceof QloraError) throw e;
      damaged(`its deflate stream is invalid (${e instanceof Error ? e.message : String(e)})`);
    }
  } else {
    refuse(opts, zipName, `"${entry.name}" uses compression method ${entry.method}; only stored (0) and deflate (8) are read. Zip the adapter again with ordinary compression.`);
  }
  if (written !== entry.size) damaged(`it inflates to ${written.toLocaleString('en')} bytes, but the zip declares ${entry.size.toLocaleString('en')}`);
  if (crc !== entry.crc32) damaged(`its CRC-32 is ${hex(crc)}, but the zip recorded ${hex(entry.crc32)}, so some of its bytes changed`);
  return out;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
