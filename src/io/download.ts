// Streaming a file into a sink, chunk by chunk, so a 2 GB checkpoint never sits whole in JS memory:
// over http(s) with progress (bytes, rate, ETA), retries with backoff that resume from the last byte
// received (HTTP Range), and a clean restart when a server ignores Range; or from a local File/Blob
// through the same sink. Failures become QloraError('NETWORK') with an action in the message.
//
// A resumed request never splices two files: it carries If-Range with the validator the first
// response gave (a strong ETag, else Last-Modified), so a file that changed in between comes back
// whole (200) and the sink starts over; without a validator there is no resuming, only starting over.
// Where the Hub names the content's SHA-256 (X-Linked-Etag on its redirect, or the ETag of an LFS
// file), the bytes are hashed as they stream and a file that does not match is fetched once more
// from byte 0, then refused. Redirects are followed here where the runtime lets us see them (Node;
// a browser hides them), so a loop is named with its URL and a token never follows to another origin.
import { QloraError } from '../errors';
import { createSha256, type Sha256 } from './sha256';
import { tooLarge, type SizeLimit } from './size-limits';

/** `base` + a file name, each path segment percent-encoded: "%2e%2e/x" must not become "../x". */
export function fileUrl(base: string, name: string): string {
  return base + name.split('/').map(encodeURIComponent).join('/');
}

/**
 * Why the sink must drop what it holds: the same file comes again from byte 0 (the server ignores
 * Range, or gave no validator to resume on); the file changed on the server since the bytes it holds
 * (a new validator); or the finished file did not match its SHA-256 (the bytes held are wrong). After
 * 'changed' or 'corrupt', anything the sink made from the earlier bytes is stale too.
 */
export type ResetReason = 'unresumable' | 'changed' | 'corrupt';

export interface ChunkSink {
  /**
   * Called on every (re)connection before its first chunk: the file size when known, where data
   * resumes, and the validator to resume this file with later (DownloadOptions.ifRange).
   */
  start?(info: { total: number | null; offset: number; validator: string | null }): void | Promise<void>;
  /** Bytes in file order. Awaited, so a slow sink slows the download instead of buffering it. */
  write(chunk: Uint8Array): void | Promise<void>;
  /** Drop what was written; bytes restart at 0. */
  reset(reason: ResetReason): void | Promise<void>;
}

export interface TransferProgress {
  loaded: number;
  total: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

export interface DownloadOptions {
  sink: ChunkSink;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  onProgress?(p: TransferProgress): void;
  /** Bytes the sink already holds (from an earlier, interrupted call): the request starts there… */
  resumeFrom?: number;
  /** …if the file is still the one those bytes came from: the validator that call's sink.start gave. Without it, the file is fetched from 0. */
  ifRange?: string | null;
  /** The file's SHA-256 (hex) when the caller knows it; else taken from the Hub's headers where they give it. */
  sha256?: string;
  /** The most bytes the file may have (counted after decompression); past it, the transfer stops with the limit's error. */
  limit?: SizeLimit;
  /** Attempts after a failure that made no progress; a retry that receives bytes resets the count. */
  retries?: number; // 5: rides out a few seconds of flaky Wi-Fi, still fails within a minute
  retryDelayMs?: number; // 500, doubled per attempt: first retry is quick, later ones back off
  /** A request that receives nothing for this long is dropped and resumed. */
  stallTimeoutMs?: number; // 60 s: far beyond a slow link's gaps, short enough not to hang forever
  /** Least time between two onProgress calls; the last one always comes. */
  progressIntervalMs?: number; // 100: ten UI updates a second, not one per 64 KB chunk
}

export interface TransferResult {
  /** Bytes the sink holds at the end (the file size). */
  bytes: number;
  /** Responses served from byte 0 although a Range was asked for (the sink was reset). */
  restarts: number;
  /** The SHA-256 the file was checked against, or null when none was known (or bytes were skipped). */
  verifiedSha256: string | null;
}

/** Sliding-window rate over the last few seconds: smooth enough to read, quick to follow a change. */
export function createRateMeter(windowMs = 5000, now: () => number = () => performance.now()) {
  const samples: { t: number; loaded: number }[] = [];
  return {
    /** Record `loaded` (monotone, except after reset()) and read the rate and ETA now. */
    update(loaded: number, total: number | null): TransferProgress {
      const t = now();
      // One sample per 100 ms is plenty for a 5 s window; chunks can come every few microseconds.
      const last = samples.length >= 2 ? samples[samples.length - 2] : null;
      if (last && t - last.t < 100) samples[samples.length - 1] = { t, loaded };
      else samples.push({ t, loaded });
      while (samples.length > 2 && t - samples[1].t >= windowMs) samples.shift();
      const first = samples[0];
      const seconds = (t - first.t) / 1000;
      const bytesPerSecond = seconds > 0 ? Math.max(0, (loaded - first.loaded) / seconds) : 0;
      const etaSeconds = total !== null && bytesPerSecond > 0 ? Math.max(0, total - loaded) / bytesPerSecond : null;
      return { loaded, total, bytesPerSecond, etaSeconds };
    },
    reset(): void {
      samples.length = 0;
    },
  };
}

/** Calls `report` at most every `intervalMs`, plus whenever `force` is set. */
export function throttle<T>(report: ((p: T) => void) | undefined, intervalMs: number): (p: T, force?: boolean) => void {
  let last = -Infinity;
  return (p, force = false) => {
    if (!report) return;
    const t = performance.now();
    if (!force && t - last < intervalMs) return;
    last = t;
    report(p);
  };
}

/** Error for an HTTP status, with what to do about it. Statuses are kept in `details` for callers. */
export function httpError(url: string, status: number, statusText: string, authorized: boolean): QloraError {
  const details = { url, status };
  const what = `Downloading ${url} failed: HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  if (status === 401 && authorized) {
    return new QloraError('NETWORK', `${what}. The Hugging Face token was refused: check that it is complete and not revoked (huggingface.co/settings/tokens).`, details);
  }
  if (status === 401 || status === 403) {
    const action = authorized
      ? 'your token has no access to this model: accept its license on the model page on huggingface.co with the same account, then try again.'
      : 'this model is gated or private (or the id does not exist): paste a Hugging Face token with read access, after accepting the model license on huggingface.co.';
    return new QloraError('NETWORK', `${what}; ${action}`, details);
  }
  if (status === 404) return new QloraError('NETWORK', `${what}: not found. Check the model id, the revision and the file name.`, details);
  if (status === 429) return new QloraError('NETWORK', `${what}: too many requests. Wait a minute and try again.`, details);
  return new QloraError('NETWORK', `${what}. Try again later.`, details);
}

/** Status codes worth retrying: the server or a proxy may recover. */
function retryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The whole file's size: Content-Range's `/size` on a 206, else offset + Content-Length. */
function sizeOf(res: Response, offset: number): number | null {
  // A compressed body's Content-Length counts compressed bytes, not the ones the stream yields.
  const encoding = res.headers.get('content-encoding');
  if (encoding && encoding !== 'identity') return null;
  const range = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  if (res.status === 206 && range) return Number(range[1]);
  // Content-Range is readable cross-origin only when the server exposes it; Content-Length always is.
  const length = res.headers.get('content-length');
  return length !== null && /^\d+$/.test(length.trim()) ? offset + Number(length) : null;
}

function rangeStart(res: Response): number | null {
  const m = /^bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : null;
}

/** What If-Range may carry: a strong ETag (RFC 9110 forbids weak ones there), else Last-Modified. */
function validatorOf(res: Response): string | null {
  const etag = res.headers.get('etag')?.trim();
  if (etag && !etag.startsWith('W/')) return etag;
  return res.headers.get('last-modified')?.trim() || null;
}

const SHA256_HEX = /^"?([0-9a-f]{64})"?$/i;

/**
 * The content's SHA-256 as the Hub states it: X-Linked-Etag (its resolve/ redirect for an LFS file),
 * or the ETag of a response from the Hub itself, which is the SHA-256 for LFS files. Another server's
 * 64-hex ETag could be a hash of anything, so it is not taken for one.
 */
function statedSha256(res: Response, url: string): string | null {
  const linked = SHA256_HEX.exec(res.headers.get('x-linked-etag')?.trim() ?? '');
  if (linked) return linked[1].toLowerCase();
  const host = new URL(url).hostname;
  const hub = host === 'huggingface.co' || host === 'hf.co' || host.endsWith('.huggingface.co') || host.endsWith('.hf.co');
  const etag = hub ? SHA256_HEX.exec(res.headers.get('etag')?.trim() ?? '') : null;
  return etag ? etag[1].toLowerCase() : null;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20; // as browsers and undici

/** False once a browser has answered redirect: 'manual' with an opaque response: it follows them itself from then on. */
let seeRedirects = true;

/**
 * fetch, following redirects by hand where the runtime shows them: a loop is named (a browser's
 * "Failed to fetch" says nothing), the Hub's X-Linked-Etag on its redirect is kept, and Authorization
 * is dropped when the redirect leaves the origin (the Hub sends LFS files to a CDN).
 */
async function fetchFollowing(url: string, headers: Headers, signal: AbortSignal): Promise<{ res: Response; sha256: string | null }> {
  const chain = [url];
  let sha256: string | null = null;
  for (let current = url; ; ) {
    let res: Response;
    try {
      res = await fetch(current, { headers, signal, redirect: seeRedirects ? 'manual' : 'follow' });
      if (res.type === 'opaqueredirect') {
        seeRedirects = false;
        res = await fetch(current, { headers, signal, redirect: 'follow' });
      }
    } catch (e) {
      throw new Interrupted((e as Error).message);
    }
    sha256 ??= statedSha256(res, res.url || current);
    const location = res.headers.get('location');
    if (!REDIRECTS.has(res.status) || location === null) return { res, sha256 };
    await res.body?.cancel();
    const next = new URL(location, current).href;
    if (chain.includes(next) || chain.length > MAX_REDIRECTS) {
      const loop = chain.includes(next);
      const shown = [...chain.slice(-4), next].join(' → ');
      throw new QloraError(
        'NETWORK',
        `Downloading ${url}: the server ${loop ? `redirects in a loop, back to ${next}` : `redirected more than ${MAX_REDIRECTS} times`} (${shown}). ` +
          'The address or the server is misconfigured: check the URL, or tell whoever runs the server.',
        { url, redirects: [...chain, next] },
      );
    }
    if (new URL(next).origin !== new URL(current).origin) {
      headers = new Headers(headers);
      headers.delete('authorization');
    }
    chain.push(next);
    current = next;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A network-level failure (connection refused, dropped or stalled; CORS), as opposed to an HTTP status. */
class Interrupted extends Error {}

interface TransferState {
  received: number;
  total: number | null;
  restarts: number;
  /** What the file's first response said it is; resumes carry it in If-Range. */
  validator: string | null;
  /** Hashes every byte from 0; null when the bytes before resumeFrom were never seen here. */
  hasher: Sha256 | null;
  /** The SHA-256 the file must have, when known. */
  sha256: string | null;
  /** A request with If-Range failed before any response: resume without it, on the response's validator. */
  withoutIfRange: boolean;
}

/** Drops what the sink holds and starts the file over at byte 0. */
async function startOver(sink: ChunkSink, state: TransferState, reason: ResetReason): Promise<void> {
  await sink.reset(reason);
  state.received = 0;
  state.restarts++;
  state.hasher = createSha256();
}

/**
 * One request from `state.received` on, into the sink. Throws Interrupted for what a retry may fix.
 * A watchdog aborts the request when no byte comes for `stallMs` (time spent in the sink not counted):
 * browsers never time out a stalled body on their own.
 */
async function transferOnce(url: string, opts: DownloadOptions, state: TransferState, onBytes: () => void): Promise<void> {
  const { sink, signal } = opts;
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  const attempt = new AbortController();
  const onUserAbort = () => attempt.abort(signal?.reason);
  signal?.addEventListener('abort', onUserAbort, { once: true });
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => attempt.abort(new Interrupted(`no data for ${stallMs / 1000} s`)), stallMs);
  };
  try {
    const headers = new Headers(opts.headers);
    // Resume only on a validator: a Range alone would splice the old bytes onto a changed file's.
    if (state.received > 0 && state.validator === null) await startOver(sink, state, 'unresumable');
    const sendIfRange = state.received > 0 && !state.withoutIfRange;
    if (state.received > 0) headers.set('Range', `bytes=${state.received}-`);
    if (sendIfRange) headers.set('If-Range', state.validator as string);
    arm();
    let fetched: Awaited<ReturnType<typeof fetchFollowing>>;
    try {
      fetched = await fetchFollowing(url, headers, attempt.signal);
    } catch (e) {
      // If-Range is not a CORS-safelisted header: a server whose preflight refuses it fails the request
      // outright. Resume without it from now on, accepting a 206 only with the same validator (below).
      if (sendIfRange && e instanceof Interrupted) state.withoutIfRange = true;
      throw e;
    }
    const { res, sha256 } = fetched;
    if (state.received > 0 && res.status === 416) {
      // Asked for bytes past the end: the sink may already hold the whole file.
      const size = Number(/\/(\d+)/.exec(res.headers.get('content-range') ?? '')?.[1]);
      await res.body?.cancel();
      if (size === state.received) return;
      throw new QloraError('NETWORK', `Downloading ${url}: the server says the file has ${size} bytes, but ${state.received} were already received. Delete the partial download and try again.`, { url, status: 416 });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw Object.assign(new Interrupted(`HTTP ${res.status}`), { response: res });
    }
    const validator = validatorOf(res);
    if (state.received > 0 && res.status !== 206) {
      // The whole file again: the server ignores Range, or (If-Range failed) the file changed.
      await startOver(sink, state, validator === state.validator ? 'unresumable' : 'changed');
    } else if (res.status === 206 && (validator !== null || !sendIfRange) && validator !== state.validator) {
      // Part of a file other than the one the sink holds (a server that ignores If-Range), or, without
      // If-Range, of a file not shown to be the same: start over.
      await res.body?.cancel();
      await startOver(sink, state, 'changed');
      state.validator = null;
      throw new Interrupted(`the file changed on the server (now ${validator})`);
    } else if (res.status === 206 && rangeStart(res) !== null && rangeStart(res) !== state.received) {
      await res.body?.cancel();
      throw new QloraError('NETWORK', `Downloading ${url}: asked for bytes from ${state.received} but the server sent "${res.headers.get('content-range')}".`, { url, status: 206 });
    }
    if (state.received === 0) {
      state.validator = validator;
      state.sha256 = opts.sha256?.toLowerCase() ?? sha256;
    }
    state.total = sizeOf(res, state.received) ?? state.total;
    if (opts.limit && state.total !== null && state.total > opts.limit.bytes) {
      await res.body?.cancel();
      throw tooLarge(opts.limit, url, state.total);
    }
    await sink.start?.({ total: state.total, offset: state.received, validator: state.validator });
    if (!res.body) throw new Interrupted('the response has no body');
    const reader = res.body.getReader();
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw new Interrupted((e as Error).message);
        }
        if (chunk.done) break;
        if (state.total !== null && state.received + chunk.value.length > state.total) {
          throw new QloraError('NETWORK', `Downloading ${url}: the server sent more than the ${state.total} bytes it announced.`, { url });
        }
        // Counted after decompression, as it arrives: a gzip bomb stops here, not in memory.
        if (opts.limit && state.received + chunk.value.length > opts.limit.bytes) throw tooLarge(opts.limit, url, null);
        clearTimeout(watchdog);
        await sink.write(chunk.value);
        state.hasher?.update(chunk.value);
        state.received += chunk.value.length;
        onBytes();
        arm();
      }
    } catch (e) {
      // Stop the transfer (a sink that refuses the bytes, a dropped connection) so no socket lingers.
      await reader.cancel().catch(() => undefined);
      throw e;
    }
    if (state.total !== null && state.received < state.total) {
      throw new Interrupted(`the connection closed after ${state.received} of ${state.total} bytes`);
    }
  } finally {
    clearTimeout(watchdog);
    signal?.removeEventListener('abort', onUserAbort);
  }
}

/** Checks the finished file against its SHA-256: the hash, null (nothing to check), or 'again' (the sink was reset for one more try). */
async function verify(url: string, opts: DownloadOptions, state: TransferState, refetched: boolean): Promise<string | null | 'again'> {
  if (state.hasher === null || state.sha256 === null) return null;
  const found = state.hasher.hex();
  if (found === state.sha256) return found;
  if (!refetched) {
    await startOver(opts.sink, state, 'corrupt');
    state.validator = null;
    return 'again';
  }
  const weights = /\.safetensors$/i.test(new URL(url).pathname);
  throw new QloraError(
    weights ? 'WEIGHTS_CORRUPT' : 'NETWORK',
    `Downloading ${url}: the ${state.received} bytes received twice have SHA-256 ${found}, but the server says the file's is ${state.sha256}. ` +
      'Something between here and the server (a proxy, a filter, a broken mirror) changes the bytes: try again later or from another network.',
    { url, expected: state.sha256, found },
  );
}

/**
 * Streams `url` into `opts.sink`. Resolves once the sink holds the whole file; the body is never
 * accumulated here. Aborting `opts.signal` rejects with the signal's reason (an AbortError).
 */
export async function downloadFile(url: string, opts: DownloadOptions): Promise<TransferResult> {
  const { signal } = opts;
  const retries = opts.retries ?? 5;
  const baseDelay = opts.retryDelayMs ?? 500;
  const authorized = Object.keys(opts.headers ?? {}).some((h) => h.toLowerCase() === 'authorization');
  const meter = createRateMeter();
  const report = throttle(opts.onProgress, opts.progressIntervalMs ?? 100);
  const resumeFrom = opts.resumeFrom ?? 0;
  const state: TransferState = {
    received: resumeFrom,
    total: null,
    restarts: 0,
    validator: resumeFrom > 0 ? (opts.ifRange ?? null) : null,
    hasher: resumeFrom > 0 ? null : createSha256(),
    sha256: opts.sha256?.toLowerCase() ?? null,
    withoutIfRange: false,
  };
  let failures = 0;
  let refetched = false; // a file that failed its hash is fetched once more, then refused
  for (;;) {
    signal?.throwIfAborted();
    const before = state.received;
    const restartsBefore = state.restarts;
    try {
      await transferOnce(url, opts, state, () => {
        if (state.restarts !== restartsBefore) meter.reset();
        report(meter.update(state.received, state.total));
      });
      report(meter.update(state.received, state.total ?? state.received), true);
      const verified = await verify(url, opts, state, refetched);
      if (verified === 'again') {
        refetched = true;
        continue;
      }
      return { bytes: state.received, restarts: state.restarts, verifiedSha256: verified };
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      if (!(e instanceof Interrupted)) throw e;
      failures = state.received > before ? 1 : failures + 1;
      const response = (e as Interrupted & { response?: Response }).response;
      if (response && (!retryable(response.status) || failures > retries)) {
        throw httpError(url, response.status, response.statusText, authorized);
      }
      if (failures > retries) {
        const of = state.total !== null ? ` of ${state.total}` : '';
        throw new QloraError(
          'NETWORK',
          `Downloading ${url} failed after ${failures} attempts (${e.message}), with ${state.received}${of} bytes received. ` +
            'Check your connection (and, for a server other than huggingface.co, that it allows cross-origin requests), then try again.',
          { url, received: state.received, total: state.total },
        );
      }
      await sleep(Math.min(baseDelay * 2 ** (failures - 1), 30_000), signal);
    }
  }
}

export interface BlobReadOptions {
  sink: ChunkSink;
  signal?: AbortSignal;
  onProgress?(p: TransferProgress): void;
  resumeFrom?: number;
  chunkBytes?: number; // 4 MiB: big enough to be fast, small enough to bound memory
  progressIntervalMs?: number;
}

/** A local File/Blob through the same sink, read slice by slice (never whole). */
export async function readBlob(blob: Blob, opts: BlobReadOptions): Promise<TransferResult> {
  const { sink, signal } = opts;
  const step = opts.chunkBytes ?? 4 << 20;
  const meter = createRateMeter();
  const report = throttle(opts.onProgress, opts.progressIntervalMs ?? 100);
  let offset = opts.resumeFrom ?? 0;
  await sink.start?.({ total: blob.size, offset, validator: null });
  while (offset < blob.size) {
    signal?.throwIfAborted();
    const end = Math.min(blob.size, offset + step);
    await sink.write(new Uint8Array(await blob.slice(offset, end).arrayBuffer()));
    offset = end;
    report(meter.update(offset, blob.size));
  }
  report(meter.update(offset, blob.size), true);
  return { bytes: offset, restarts: 0, verifiedSha256: null };
}

/** The chunks a sink collected, as one array. */
export function concatChunks(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
