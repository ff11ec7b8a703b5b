// Streaming downloads against a local server that fails the ways real ones do: every byte arrives in
// order exactly once, a dropped connection resumes with a Range request, a server that ignores Range
// restarts cleanly, and HTTP errors say what to do. Local Blobs go through the same sink.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { downloadFile, readBlob, createRateMeter, type ChunkSink, type TransferProgress } from '../src/io/download';
import { startFileServer, type FileServer } from './helpers/file-server';
import { FIXTURES } from './helpers/golden';

const FILE = readFileSync(`${FIXTURES}tiny-llama/model.safetensors`);
const ETAG = `"${createHash('sha1').update(FILE).digest('hex')}"`; // what the test server sends

/** Collects bytes like a real sink, and logs what it was told. */
function collector() {
  const parts: Uint8Array[] = [];
  const log: string[] = [];
  const sink: ChunkSink = {
    start: (i) => void log.push(`start ${i.total} @${i.offset}${i.validator === ETAG ? '' : ` ${i.validator}`}`),
    write: (c) => void parts.push(c.slice()),
    reset: () => {
      log.push('reset');
      parts.length = 0;
    },
  };
  const bytes = () => Buffer.concat(parts);
  return { sink, log, bytes };
}

let server: FileServer;
beforeAll(async () => {
  server = await startFileServer({ llama: `${FIXTURES}tiny-llama` });
});
afterAll(() => server.close());
beforeEach(() => {
  server.behavior = {};
  server.requests.length = 0;
});

const url = () => `${server.base}llama/model.safetensors`;
const fast = { retryDelayMs: 1, progressIntervalMs: 0 };

describe('downloadFile', () => {
  it('streams the file to the sink with monotonic progress', async () => {
    const c = collector();
    const progress: TransferProgress[] = [];
    const r = await downloadFile(url(), { sink: c.sink, onProgress: (p) => progress.push(p), ...fast });
    expect(r).toEqual({ bytes: FILE.length, restarts: 0, verifiedSha256: null });
    expect(c.bytes().equals(FILE)).toBe(true);
    expect(c.log).toEqual([`start ${FILE.length} @0`]);
    expect(progress.at(-1)).toMatchObject({ loaded: FILE.length, total: FILE.length });
    for (let i = 1; i < progress.length; i++) expect(progress[i].loaded).toBeGreaterThanOrEqual(progress[i - 1].loaded);
    expect(progress.every((p) => p.bytesPerSecond >= 0 && p.total === FILE.length)).toBe(true);
  });

  it('resumes after a dropped connection with a Range request', async () => {
    server.behavior = { dropAtOffset: 300_000, dropTimes: 2 };
    const c = collector();
    const r = await downloadFile(url(), { sink: c.sink, ...fast });
    expect(c.bytes().equals(FILE)).toBe(true);
    expect(r.restarts).toBe(0);
    const ranges = server.requests.map((q) => q.range);
    expect(ranges.length).toBe(3);
    expect(ranges[0]).toBeNull();
    expect(ranges[1]).toBe('bytes=300000-'); // the cut came at 300000: nothing fetched twice
    expect(ranges.slice(1).every((h) => h !== null && /^bytes=\d+-$/.test(h))).toBe(true);
    expect(server.requests.at(-1)?.status).toBe(206);
    expect(c.log[0]).toBe(`start ${FILE.length} @0`);
    expect(c.log.at(-1)).toMatch(new RegExp(`^start ${FILE.length} @[1-9]`));
  });

  it('retries a busy server and a stalled connection', async () => {
    server.behavior = { failStatus: 503, failTimes: 2 };
    const c = collector();
    await downloadFile(url(), { sink: c.sink, ...fast });
    expect(server.requests.map((q) => q.status)).toEqual([503, 503, 200]);
    expect(c.bytes().equals(FILE)).toBe(true);

    server.behavior = { failStatus: 503, failTimes: 9 };
    const busy = await downloadFile(url(), { sink: collector().sink, retries: 1, ...fast }).catch((e) => e);
    expect(busy).toMatchObject({ code: 'NETWORK', details: { status: 503 } });

    server.requests.length = 0;
    server.behavior = { dropAtOffset: 100_000, dropTimes: 1, stall: true };
    const s = collector();
    await downloadFile(url(), { sink: s.sink, stallTimeoutMs: 300, ...fast });
    expect(s.bytes().equals(FILE)).toBe(true);
    expect(server.requests.map((q) => q.range)).toEqual([null, 'bytes=100000-']);
  });

  it('restarts from 0 and resets the sink when the server ignores Range', async () => {
    server.behavior = { dropAtOffset: 200_000, dropTimes: 1, ignoreRange: true };
    const c = collector();
    const r = await downloadFile(url(), { sink: c.sink, ...fast });
    expect(r.restarts).toBe(1);
    expect(server.requests.map((q) => q.status)).toEqual([200, 200]);
    expect(c.log).toContain('reset');
    expect(c.bytes().equals(FILE)).toBe(true);
  });

  it('resumes from bytes the sink already holds, on the validator they came with', async () => {
    const c = collector();
    await downloadFile(url(), { sink: c.sink, resumeFrom: 1000, ifRange: ETAG, ...fast });
    expect(server.requests[0].range).toBe('bytes=1000-');
    expect(c.bytes().equals(FILE.subarray(1000))).toBe(true);
    const done = collector();
    await downloadFile(url(), { sink: done.sink, resumeFrom: FILE.length, ifRange: ETAG, ...fast }); // 416: nothing left
    expect(done.bytes().length).toBe(0);
    // Without a validator the held bytes could be of another version: start over.
    server.requests.length = 0;
    const unknown = collector();
    await downloadFile(url(), { sink: unknown.sink, resumeFrom: 1000, ...fast });
    expect(server.requests.map((q) => q.range)).toEqual([null]);
    expect(unknown.log[0]).toBe('reset');
    expect(unknown.bytes().equals(FILE)).toBe(true);
  });

  it('works without Content-Length, and gives up with NETWORK after the retries', async () => {
    server.behavior = { noLength: true };
    const c = collector();
    await downloadFile(url(), { sink: c.sink, ...fast });
    expect(c.bytes().equals(FILE)).toBe(true);
    expect(c.log[0]).toBe('start null @0');

    server.behavior = { dropAtOffset: 1000 };
    const d = collector();
    const err = await downloadFile(url(), { sink: d.sink, retries: 2, ...fast }).catch((e) => e);
    expect(err).toMatchObject({ code: 'NETWORK' });
    expect(err.message).toMatch(/failed after 3 attempts.*1000 of 634216 bytes/);
    expect(err.message).not.toMatch(/resumes/); // a new call starts from 0 (the CLI holds files in memory only)
  });

  it('says what to do for 404, 401 and 403, and never echoes the token', async () => {
    const c = collector();
    const notFound = await downloadFile(`${server.base}llama/nope.json`, { sink: c.sink, ...fast }).catch((e) => e);
    expect(notFound).toMatchObject({ code: 'NETWORK', details: { status: 404 } });
    expect(notFound.message).toMatch(/HTTP 404.*not found.*check the model id, the revision/i);

    server.behavior = { token: 'hf_good' };
    const gated = await downloadFile(url(), { sink: c.sink, ...fast }).catch((e) => e);
    expect(gated).toMatchObject({ code: 'NETWORK', details: { status: 401 } });
    expect(gated.message).toMatch(/gated.*paste a Hugging Face token/);
    const wrong = await downloadFile(url(), { sink: c.sink, headers: { Authorization: 'Bearer hf_bad' }, ...fast }).catch((e) => e);
    expect(wrong.message).toMatch(/HTTP 403.*no access.*accept its license/);
    expect(JSON.stringify([wrong.message, wrong.details])).not.toContain('hf_bad');
    const ok = collector();
    await downloadFile(url(), { sink: ok.sink, headers: { Authorization: 'Bearer hf_good' }, ...fast });
    expect(ok.bytes().equals(FILE)).toBe(true);
  });

  it('stops on abort with the abort reason', async () => {
    const controller = new AbortController();
    const sink: ChunkSink = { write: () => controller.abort(new Error('user cancelled')), reset: () => undefined };
    await expect(downloadFile(url(), { sink, signal: controller.signal, ...fast })).rejects.toThrow('user cancelled');
  });
});

describe('readBlob', () => {
  it('feeds a File through the same sink in bounded slices', async () => {
    const c = collector();
    const sizes: number[] = [];
    const sink: ChunkSink = { ...c.sink, write: (chunk) => (sizes.push(chunk.length), c.sink.write(chunk)) };
    const r = await readBlob(new File([FILE], 'model.safetensors'), { sink, chunkBytes: 100_000, resumeFrom: 10 });
    expect(r.bytes).toBe(FILE.length);
    expect(c.bytes().equals(FILE.subarray(10))).toBe(true);
    expect(Math.max(...sizes)).toBe(100_000);
  });
});

describe('rate meter', () => {
  it('measures over a sliding window and estimates the time left', () => {
    let t = 0;
    const meter = createRateMeter(5000, () => t);
    meter.update(0, 1000);
    t = 1000;
    expect(meter.update(100, 1000)).toEqual({ loaded: 100, total: 1000, bytesPerSecond: 100, etaSeconds: 9 });
    t = 10_000;
    const p = meter.update(1000, 1000);
    expect(p.etaSeconds).toBe(0);
    expect(p.bytesPerSecond).toBe(100); // 900 bytes over the last 9 s
  });
});
