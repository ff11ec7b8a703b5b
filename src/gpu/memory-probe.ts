// How much GPU memory a run may use. WebGPU does not report a GPU's memory, so it is measured: the
// probe allocates buffers (each within maxBufferSize) summing to what the run needs, inside an
// 'out-of-memory' error scope, writes nothing into them and destroys them at once. What it learns is
// remembered per adapter, in memory for the life of the worker (not persisted: a driver update or
// another tab's use changes the answer, and a probe of a size already known costs nothing):
// the largest total known to succeed and the smallest known to fail. A `gpu-memory` setting (the
// page's `?gpu-memory=8GB`) replaces the measurement — for a GPU shared with other work, and for the
// tests, which cannot make SwiftShader run out of memory at a chosen size.
import { QloraError } from '../errors';
import { USAGE } from './context';

/** What is known of one adapter's memory: totals that allocated, and totals that failed. */
export interface ProbeMemo {
  largestOk: number;
  /** Infinity until an allocation has failed. */
  smallestFailed: number;
}

export const emptyMemo = (): ProbeMemo => ({ largestOk: 0, smallestFailed: Infinity });

/** 'fits' / 'fails' when the memo already answers for `bytes`, else 'unknown' (a probe is needed). */
export function memoAnswer(memo: ProbeMemo, bytes: number): 'fits' | 'fails' | 'unknown' {
  if (bytes <= memo.largestOk) return 'fits';
  if (bytes >= memo.smallestFailed) return 'fails';
  return 'unknown';
}

/**
 * The memo after a probe of `bytes` that succeeded (ok) or failed. An answer that contradicts an older
 * one (another program freed or took memory meanwhile) replaces it: the older one is forgotten.
 */
export function recordProbe(memo: ProbeMemo, bytes: number, ok: boolean): ProbeMemo {
  if (ok) return { largestOk: Math.max(memo.largestOk, bytes), smallestFailed: memo.smallestFailed <= bytes ? Infinity : memo.smallestFailed };
  return { largestOk: memo.largestOk >= bytes ? 0 : memo.largestOk, smallestFailed: Math.min(memo.smallestFailed, bytes) };
}

/** Buffer sizes summing to `bytes`, none over maxBufferSize, each a multiple of 4 (createBuffer's rule). */
export function probeChunks(bytes: number, maxBufferSize: number): number[] {
  const max = Math.floor(maxBufferSize / 4) * 4;
  if (!(max >= 4)) throw new RangeError(`probeChunks: maxBufferSize must be at least 4, got ${maxBufferSize}`);
  const total = Math.ceil(Math.max(0, bytes) / 4) * 4;
  const out: number[] = [];
  for (let left = total; left > 0; left -= max) out.push(Math.min(max, left));
  return out;
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** "8GB", "512 MiB", "1.5gib" or a plain byte count: the `gpu-memory` setting, in bytes. */
export function parseMemorySize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new QloraError('ARGUMENT_INVALID', `gpu-memory must be a size such as 8GB, 12GiB or 512MiB, got "${text}".`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!(bytes > 0)) throw new QloraError('ARGUMENT_INVALID', `gpu-memory must be more than 0 bytes, got "${text}".`);
  return bytes;
}

export type MemoryBasis = 'setting' | 'probe' | 'not measured';

export interface MemoryAnswer {
  /** null: not known (nothing measured, only the buffer limits were checked). */
  readonly fits: boolean | null;
  readonly basis: MemoryBasis;
  /** Bytes the run may use, for the "does not fit" message: the setting, or the largest total that allocated. */
  readonly available: number | null;
}

/**
 * Allocates `bytes` in chunks inside an out-of-memory error scope and frees it: true when every
 * allocation succeeded. Nothing is written, so a driver that maps memory lazily may say yes to more
 * than it has; the answer is still better than none, and the page says it was measured this way.
 */
export async function probeAllocation(device: GPUDevice, bytes: number): Promise<boolean> {
  const buffers: GPUBuffer[] = [];
  device.pushErrorScope('out-of-memory');
  let thrown: unknown = null;
  try {
    for (const size of probeChunks(bytes, device.limits.maxBufferSize)) {
      buffers.push(device.createBuffer({ size, usage: USAGE.STORAGE, label: 'memory probe' }));
    }
  } catch (e) {
    thrown = e; // the scope must be popped either way
  }
  const error = await device.popErrorScope();
  for (const b of buffers) b.destroy();
  if (thrown) throw thrown;
  return error === null;
}

/** The memory answers of one device: the setting when given, else the memo, else a probe. */
export class DeviceMemory {
  private memo: ProbeMemo = emptyMemo();
  private override: number | null = null;

  constructor(private readonly probe: (bytes: number) => Promise<boolean>) {}

  setOverride(bytes: number | null): void {
    this.override = bytes;
  }

  /**
   * Can the device hold `total` bytes, of which `held` are allocated already (the loaded model)?
   * `canProbe` false (a run is using the GPU) answers from what is known without allocating.
   */
  async check(total: number, held: number, canProbe: boolean): Promise<MemoryAnswer> {
    if (this.override !== null) return { fits: total <= this.override, basis: 'setting', available: this.override };
    let known = memoAnswer(this.memo, total);
    if (known === 'unknown' && canProbe) {
      const ok = await this.probe(Math.max(0, total - held));
      this.memo = recordProbe(this.memo, total, ok);
      known = ok ? 'fits' : 'fails';
    }
    if (known === 'unknown') return { fits: null, basis: 'not measured', available: null };
    return { fits: known === 'fits', basis: 'probe', available: this.memo.largestOk > 0 ? this.memo.largestOk : null };
  }
}
