// Parses a safetensors file while it streams in: the 8-byte length and the header are collected and
// validated (by safetensors-header.ts, the same checks as for a file in memory), then each tensor is
// handed over as soon as its last byte arrives, in data order, so the caller can quantize it and drop
// the float bytes. Only the header and the one tensor being filled are ever held. It is a ChunkSink,
// so a download or a File read feeds it directly.
import { QloraError } from '../errors';
import { parseSafetensorsHeader, safetensorsHeaderLength, type SafetensorsHeader, type TensorInfo } from '../formats/safetensors';
import type { ChunkSink } from './download';

/** `bytes` is a fresh buffer the handler owns (byteOffset 0, so any typed view over it is aligned). */
export type TensorHandler = (info: TensorInfo, bytes: Uint8Array) => void | Promise<void>;

export interface StreamParserOptions {
  /** Keep this tensor's bytes? Unwanted ones (already cached, not used) are counted and dropped. */
  wanted?(info: TensorInfo): boolean;
  /** Runs once the header is validated, before any tensor is handed over. */
  onHeader?(header: SafetensorsHeader): void | Promise<void>;
}

function corrupt(fileName: string, message: string): QloraError {
  return new QloraError('WEIGHTS_CORRUPT', `${fileName}: ${message}`, { fileName });
}

/** The largest data end the header claims, read leniently: only to validate a file of unknown size. */
function claimedDataBytes(headerText: Uint8Array): number {
  try {
    const json = JSON.parse(new TextDecoder().decode(headerText)) as Record<string, { data_offsets?: unknown }>;
    let end = 0;
    for (const [name, entry] of Object.entries(json)) {
      const offsets = name === '__metadata__' ? undefined : entry?.data_offsets;
      if (Array.isArray(offsets) && Number.isSafeInteger(offsets[1])) end = Math.max(end, offsets[1] as number);
    }
    return end;
  } catch {
    return 0; // parseSafetensorsHeader reports the bad JSON with its own message
  }
}

export class SafetensorsStreamParser implements ChunkSink {
  private prefix = new Uint8Array(64 << 10);
  private prefixLength = 0;
  private headerLength: number | null = null;
  private headerBytes: Uint8Array | null = null;
  private parsed: SafetensorsHeader | null = null;
  private order: TensorInfo[] = [];
  private index = 0;
  private current: Uint8Array | null = null;
  private currentWanted: boolean | null = null;
  private consumed = 0;

  /** `fileSize` from Content-Length or File.size; null when unknown (then the header decides it). */
  constructor(
    readonly fileName: string,
    private fileSize: number | null,
    private readonly onTensor: TensorHandler,
    private readonly opts: StreamParserOptions = {},
  ) {}

  get header(): SafetensorsHeader | null {
    return this.parsed;
  }

  /** Bytes of the file consumed so far (the file offset of the next byte expected). */
  get position(): number {
    return this.consumed;
  }

  get size(): number | null {
    return this.fileSize;
  }

  /** Every tensor handed over or skipped, and no byte missing. */
  get complete(): boolean {
    return this.parsed !== null && this.index === this.order.length && this.consumed === this.fileSize;
  }

  start(info: { total: number | null }): void {
    if (info.total === null) return;
    if (this.fileSize !== null && this.fileSize !== info.total) {
      throw corrupt(this.fileName, `the file was ${this.fileSize} bytes and is now ${info.total}: it changed while downloading. Try again`);
    }
    this.fileSize = info.total;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.push(chunk);
  }

  async push(chunk: Uint8Array): Promise<void> {
    if (this.fileSize !== null && this.consumed + chunk.length > this.fileSize) {
      throw corrupt(this.fileName, `received more than the ${this.fileSize} bytes the file should have`);
    }
    let off = 0;
    while (off < chunk.length) {
      if (!this.parsed) {
        off += await this.takeHeaderBytes(chunk.subarray(off));
        continue;
      }
      if (this.index >= this.order.length) {
        throw corrupt(this.fileName, `${chunk.length - off} bytes follow the last tensor; they belong to no tensor`);
      }
      const t = this.order[this.index];
      const begin = this.parsed.dataStart + t.begin;
      const end = this.parsed.dataStart + t.end;
      if (this.currentWanted === null) {
        this.currentWanted = this.opts.wanted?.(t) ?? true;
        if (this.currentWanted) this.current = new Uint8Array(end - begin);
      }
      const take = Math.min(end - this.consumed, chunk.length - off);
      this.current?.set(chunk.subarray(off, off + take), this.consumed - begin);
      off += take;
      this.consumed += take;
      if (this.consumed === end) await this.finishTensor();
    }
  }

  /** Throws WEIGHTS_CORRUPT, naming the file and the tensor, unless every byte arrived. */
  end(): void {
    if (!this.parsed) {
      const need = this.headerLength === null ? 8 : 8 + this.headerLength;
      throw corrupt(this.fileName, `the file ends after ${this.consumed} bytes, inside its ${need}-byte header: it is truncated (incomplete download?)`);
    }
    if (this.index < this.order.length || (this.fileSize !== null && this.consumed < this.fileSize)) {
      const t = this.order[Math.min(this.index, this.order.length - 1)];
      throw corrupt(
        this.fileName,
        `the file ends after ${this.consumed} of ${this.fileSize} bytes, inside tensor "${t.name}": it is truncated (incomplete download?)`,
      );
    }
  }

  /** The server sent the file again from byte 0: forget the bytes, keep the (rechecked) header. */
  reset(): void {
    this.prefixLength = 0;
    this.headerLength = null;
    this.index = 0;
    this.current = null;
    this.currentWanted = null;
    this.consumed = 0;
    if (this.parsed) this.parsed = null; // re-read; onHeader is not called again for the same bytes
  }

  /**
   * File offset of the next byte a wanted tensor needs, from the current position: the caller may
   * skip there instead of streaming past cached tensors. The data end when nothing more is wanted;
   * null before the header is known.
   */
  nextWantedOffset(): number | null {
    if (!this.parsed) return null;
    if (this.currentWanted) return this.consumed;
    for (let i = this.index; i < this.order.length; i++) {
      const t = this.order[i];
      if (this.opts.wanted?.(t) ?? true) return Math.max(this.consumed, this.parsed.dataStart + t.begin);
    }
    return this.parsed.dataStart + (this.order.at(-1)?.end ?? 0);
  }

  /** Jump ahead to `offset` (from nextWantedOffset()); the bytes in between will not be pushed. */
  async skipTo(offset: number): Promise<void> {
    if (!this.parsed || offset !== this.nextWantedOffset()) {
      throw new QloraError('INTERNAL', `${this.fileName}: cannot skip from byte ${this.consumed} to ${offset}`);
    }
    const target = offset - this.parsed.dataStart;
    while (this.index < this.order.length && this.order[this.index].begin < target) this.index++;
    this.current = null;
    this.currentWanted = null;
    this.consumed = offset;
    await this.emitEmptyTensors();
  }

  /** Collects the 8-byte length and the header; returns how many bytes of `bytes` it took. */
  private async takeHeaderBytes(bytes: Uint8Array): Promise<number> {
    const need = this.headerLength === null ? 8 : 8 + this.headerLength;
    const take = Math.min(need - this.prefixLength, bytes.length);
    if (this.prefix.length < need) {
      const grown = new Uint8Array(need);
      grown.set(this.prefix.subarray(0, this.prefixLength));
      this.prefix = grown;
    }
    this.prefix.set(bytes.subarray(0, take), this.prefixLength);
    this.prefixLength += take;
    this.consumed += take;
    if (this.prefixLength < need) return take;
    if (this.headerLength === null) {
      this.headerLength = safetensorsHeaderLength(this.prefix.subarray(0, 8), this.fileName, this.fileSize ?? undefined);
      if (this.headerLength === 0) await this.parseHeader();
      return take;
    }
    await this.parseHeader();
    return take;
  }

  private async parseHeader(): Promise<void> {
    const headerBytes = this.prefix.slice(0, this.prefixLength);
    const dataStart = headerBytes.length;
    const size = this.fileSize ?? dataStart + claimedDataBytes(headerBytes.subarray(8));
    const header = parseSafetensorsHeader(headerBytes, this.fileName, size);
    const again = this.headerBytes !== null;
    if (again && !sameBytes(this.headerBytes as Uint8Array, headerBytes)) {
      throw corrupt(this.fileName, 'the header changed when the download restarted: the file changed on the server. Try again');
    }
    this.fileSize = size;
    this.headerBytes = headerBytes;
    this.parsed = header;
    this.order = [...header.tensors.values()];
    this.prefix = new Uint8Array(0); // the header text is no longer needed
    this.prefixLength = 0;
    if (!again) await this.opts.onHeader?.(header);
    await this.emitEmptyTensors();
  }

  private async finishTensor(): Promise<void> {
    const t = this.order[this.index];
    const bytes = this.current;
    this.current = null;
    this.currentWanted = null;
    this.index++;
    if (bytes) await this.onTensor(t, bytes);
    await this.emitEmptyTensors();
  }

  /** Zero-size tensors take no bytes, so no chunk would ever complete them. */
  private async emitEmptyTensors(): Promise<void> {
    while (this.index < this.order.length && this.order[this.index].begin === this.order[this.index].end) {
      const t = this.order[this.index++];
      if (this.opts.wanted?.(t) ?? true) await this.onTensor(t, new Uint8Array(0));
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
