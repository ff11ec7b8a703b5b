// Hostile and broken servers, on 127.0.0.1 (issue 20, items 1, 5, 6, 8): a resumed download never
// splices two files (If-Range on the first response's validator; the Hub's SHA-256 checked as the
// bytes stream, one refetch, then refused), a redirect loop is named, a token does not follow a
// redirect to another origin, text files are capped by kind (declared, streamed, gzip-decompressed,
// on disk, picked), and dataset URLs ride out stalls and resets through the models' downloader.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, copyFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadFile, type ChunkSink } from '../src/io/download';
import { createSha256 } from '../src/io/sha256';
import { SIZE_LIMITS } from '../src/io/size-limits';
import { urlReader } from '../src/io/model-files';
import { dirReader, readDataset } from '../src/io/node-files';
import { remoteFiles, localFiles } from '../src/io/model-source';
import { acquireModel } from '../src/io/model-acquire';
import { loadCachedModel, memoryStore, cachedModels } from '../src/io/model-cache';
import { localModel, urlModel } from '../src/io/hub';
import { fetchDatasetText } from '../src/io/dataset-source';
import { readTensors } from '../src/io/model-files';
import { prepareBaseWeights } from '../src/engine/base-weights';
import { parseModelConfig } from '../src/formats/model-config';
import { startFileServer, type FileServer } from './helpers/file-server';
import { FIXTURES } from './helpers/golden';

const LLAMA = `${FIXTURES}tiny-llama/`;
const FILE = readFileSync(`${LLAMA}model.safetensors`);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MiB = 1 << 20;

function collector() {
  const parts: Uint8Array[] = [];
  const resets: string[] = [];
  const sink: ChunkSink = {
    write: (c) => void parts.push(c.slice()),
    reset: (why) => {
      resets.push(why);
      parts.length = 0;
    },
  };
  return { sink, resets, bytes: () => Buffer.concat(parts) };
}

/** tiny-llama as the Hub serves an LFS file: the weights carry X-Linked-Etag, the content's SHA-256. */
function hubLike(path: string): { data: Buffer; headers: Record<string, string> } | undefined {
  if (!path.startsWith('/hub/')) return undefined;
  const file = LLAMA + path.slice('/hub/'.length);
  if (!existsSync(file)) return undefined;
  const data = readFileSync(file);
  return { data, headers: path.endsWith('.safetensors') ? { 'x-linked-etag': `"${sha256(data)}"` } : {} };
}

// A dataset of 4,000 JSON lines (about 300 kB), and a gzip bomb: 65 MiB of spaces in 65 kB.
const DATASET = Array.from({ length: 4000 }, (_, i) => JSON.stringify({ instruction: `say ${i}`, output: `${i}` })).join('\n');
const BOMB = gzipSync(Buffer.alloc(65 * MiB, 0x20));

let server: FileServer;
let other: FileServer; // another origin
beforeAll(async () => {
  server = await startFileServer({ llama: LLAMA });
  other = await startFileServer({ llama: LLAMA });
});
afterAll(async () => {
  await server.close();
  await other.close();
});
beforeEach(() => {
  server.behavior = {};
  server.requests.length = 0;
  other.behavior = {};
  other.requests.length = 0;
});

const fast = { retryDelayMs: 1, progressIntervalMs: 0 };

describe('SHA-256', () => {
  it('equals node:crypto on every block boundary, fed in ragged pieces', () => {
    const data = new Uint8Array(70_000).map((_, i) => (i * 2654435761) >>> 24);
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 70_000]) {
      const h = createSha256();
      for (let at = 0, step = 1; at < n; at += step, step = (step * 7) % 97 || 1) h.update(data.subarray(at, Math.min(n, at + step)));
      expect(h.hex()).toBe(sha256(data.subarray(0, n)));
    }
  });
});

describe('a resumed download never splices two files', () => {
  it('a range answered with the wrong bytes fails the Hub SHA-256 and is fetched again whole', async () => {
    // The case: the first response drops at half; the range comes back 206, with a correct Content-Range and the bytes from 0.
    server.behavior = { body: hubLike, dropAtOffset: FILE.length >> 1, dropPath: 'model.safetensors', dropTimes: 1, spliceRange: true };
    const c = collector();
    const r = await downloadFile(`${server.base}hub/model.safetensors`, { sink: c.sink, ...fast });
    expect(c.bytes().equals(FILE)).toBe(true);
    expect(r.verifiedSha256).toBe(sha256(FILE));
    expect(c.resets).toEqual(['corrupt']);
    expect(server.requests.map((q) => q.status)).toEqual([200, 206, 200]);
  });

  it('a file whose bytes never match the SHA-256 the Hub states is refused after one refetch', async () => {
    server.behavior = { body: (p) => (p === '/x/model.safetensors' ? { data: FILE, headers: { 'x-linked-etag': `"${'0'.repeat(64)}"` } } : undefined) };
    const err = await downloadFile(`${server.base}x/model.safetensors`, { sink: collector().sink, ...fast }).catch((e) => e);
    expect(err).toMatchObject({ code: 'WEIGHTS_CORRUPT', details: { expected: '0'.repeat(64), found: sha256(FILE) } });
    expect(err.message).toMatch(/received twice have SHA-256 [0-9a-f]{64}, but the server says the file's is 0{64}/);
    expect(server.requests.length).toBe(2);
  });

  it('a file that changed between attempts (a new ETag) comes back whole: If-Range carries the old one', async () => {
    const before = Buffer.from(FILE);
    const after = Buffer.from(FILE).map((b) => b ^ 0x5a) as Buffer;
    let served = 0;
    server.behavior = { body: (p) => (p === '/x/data.bin' ? { data: served++ === 0 ? before : after } : undefined), dropAtOffset: 300_000, dropPath: 'data.bin', dropTimes: 1 };
    const c = collector();
    await downloadFile(`${server.base}x/data.bin`, { sink: c.sink, ...fast });
    expect(c.bytes().equals(after)).toBe(true); // not before[0, 300000) + after[300000, …)
    expect(c.resets).toEqual(['changed']);
    expect(server.requests[1]).toMatchObject({ range: 'bytes=300000-', ifRange: `"${createHash('sha1').update(before).digest('hex')}"`, status: 200 });
  });

  it('where a request with If-Range fails outright (a CORS preflight refusing it), resumes without it on the same ETag', async () => {
    server.behavior = { refuseIfRange: true, dropAtOffset: 300_000, dropTimes: 1 };
    const c = collector();
    await downloadFile(`${server.base}llama/model.safetensors`, { sink: c.sink, ...fast });
    expect(c.bytes().equals(FILE)).toBe(true);
    expect(server.requests.map((q) => [q.range, q.ifRange !== null])).toEqual([[null, false], ['bytes=300000-', true], ['bytes=300000-', false]]);
  });

  it('without a validator (no ETag, no Last-Modified) a dropped download starts over instead of resuming', async () => {
    server.behavior = { noEtag: true, dropAtOffset: 300_000, dropTimes: 1 };
    const c = collector();
    await downloadFile(`${server.base}llama/model.safetensors`, { sink: c.sink, ...fast });
    expect(c.bytes().equals(FILE)).toBe(true);
    expect(server.requests.map((q) => q.range)).toEqual([null, null]);
  });

  it('the page: parts prepared from spliced bytes are dropped, the model fetched again, the cache right', async () => {
    server.behavior = { body: hubLike, dropAtOffset: FILE.length >> 1, dropPath: 'model.safetensors', dropTimes: 1, spliceRange: true };
    const store = memoryStore();
    const { key } = await acquireModel(urlModel(`${server.base}hub`), { store, retryDelayMs: 1, skipGapBytes: 0 });
    const config = parseModelConfig(JSON.parse(readFileSync(`${LLAMA}config.json`, 'utf8')));
    const reference = prepareBaseWeights(await readTensors(dirReader(LLAMA)), config, 'nf4', { doubleQuant: true });
    expect((await loadCachedModel(store, key)).weights).toEqual(reference);
    expect(server.requests.filter((q) => q.path.endsWith('.safetensors')).map((q) => q.status)).toEqual([200, 206, 200]);

    // Wrong every time: refused, and nothing made from those bytes stays in the cache.
    server.behavior = { body: (p) => { const r = hubLike(p); return r && p.endsWith('.safetensors') ? { ...r, headers: { 'x-linked-etag': `"${'1'.repeat(64)}"` } } : r; } };
    const bad = memoryStore();
    const err = await acquireModel(urlModel(`${server.base}hub`), { store: bad, retryDelayMs: 1 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'WEIGHTS_CORRUPT' });
    expect(err.message).toMatch(/model\.safetensors did not match its SHA-256 twice/);
    expect(await cachedModels(bad)).toEqual([]);
  });
});

describe('redirects', () => {
  it('a redirect loop is named, with the URL, at once', async () => {
    server.behavior = { redirects: { '/loop/a': { to: '/loop/b' }, '/loop/b': { to: `${server.base}loop/a` } } };
    const err = await downloadFile(`${server.base}loop/a`, { sink: collector().sink, ...fast }).catch((e) => e);
    expect(err).toMatchObject({ code: 'NETWORK' });
    expect(err.message).toMatch(/redirects in a loop, back to http:\/\/127\.0\.0\.1:\d+\/loop\/a/);
    expect(err.message).not.toMatch(/connection/);
    expect(server.requests.length).toBe(2);
  });

  it('a token does not follow a redirect to another origin; the SHA-256 on the redirect is checked', async () => {
    server.behavior = { redirects: { '/m/model.safetensors': { to: `${other.base}llama/model.safetensors`, headers: { 'x-linked-etag': `"${sha256(FILE)}"` } } } };
    const c = collector();
    const r = await downloadFile(`${server.base}m/model.safetensors`, { sink: c.sink, headers: { Authorization: 'Bearer hf_secret' }, ...fast });
    expect(c.bytes().equals(FILE)).toBe(true);
    expect(r.verifiedSha256).toBe(sha256(FILE));
    expect(server.requests[0].authorization).toBe('Bearer hf_secret');
    expect(other.requests.map((q) => q.authorization)).toEqual([null]);
  });
});

describe('size caps on text files', () => {
  const bomb = (p: string) => (/\/(tokenizer\.json|chat_template\.jinja)$/.test(p) ? { data: BOMB, headers: { 'content-encoding': 'gzip' } } : undefined);

  it('a gzip bomb as tokenizer.json stops at the cap, counted after decompression (CLI and page readers)', async () => {
    server.behavior = { body: bomb };
    const cli = await urlReader(`${server.base}llama/`, fast).read('tokenizer.json').catch((e) => e);
    expect(cli).toMatchObject({ code: 'TOKENIZER_INVALID', details: { limit: SIZE_LIMITS.tokenizer.bytes, found: null } });
    expect(cli.message).toMatch(/is more than 64 MiB \(counted as it arrived, after decompression\); tokenizer\.json may be at most 64 MiB/);
    const page = await remoteFiles(urlModel(`${server.base}llama`), { retryDelayMs: 1 }).text('chat_template.jinja', false).catch((e) => e);
    expect(page).toMatchObject({ code: 'TOKENIZER_INVALID', details: { limit: SIZE_LIMITS.chatTemplate.bytes, found: null } });
  });

  it('a config.json past its cap is refused on its Content-Length, or as it streams without one', async () => {
    const big = Buffer.alloc(5 * MiB, 0x20);
    server.behavior = { body: (p) => (p.endsWith('/config.json') ? { data: big } : undefined) };
    const declared = await urlReader(`${server.base}llama/`, fast).read('config.json').catch((e) => e);
    expect(declared).toMatchObject({ code: 'CONFIG_INVALID', details: { found: 5 * MiB } });
    expect(declared.message).toMatch(/is 5 MiB; config\.json may be at most 4 MiB/);
    server.behavior = { ...server.behavior, noLength: true };
    const streamed = await urlReader(`${server.base}llama/`, fast).read('config.json').catch((e) => e);
    expect(streamed).toMatchObject({ code: 'CONFIG_INVALID', details: { found: null } });
    // Weights are streamed, not capped.
    expect((await urlReader(`${server.base}llama/`, fast).read('model.safetensors'))?.length).toBe(FILE.length);
  });

  it('on disk and picked in the page: checked before reading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qlora-caps-'));
    copyFileSync(`${LLAMA}config.json`, join(dir, 'config.json'));
    writeFileSync(join(dir, 'tokenizer.json'), '');
    truncateSync(join(dir, 'tokenizer.json'), 65 * MiB); // sparse: no 65 MiB written
    await expect(dirReader(dir).read('tokenizer.json')).rejects.toMatchObject({ code: 'TOKENIZER_INVALID', details: { found: 65 * MiB } });
    expect(await dirReader(dir).read('config.json')).not.toBeNull();
    const template = new File([new Uint8Array(2 * MiB)], 'chat_template.jinja');
    const picked = localModel([new File(['{}'], 'config.json'), template]);
    await expect(localFiles(picked, {}).text('chat_template.jinja', false)).rejects.toMatchObject({ code: 'TOKENIZER_INVALID' });
    writeFileSync(join(dir, 'data.jsonl'), '');
    truncateSync(join(dir, 'data.jsonl'), SIZE_LIMITS.dataset.bytes + 1);
    await expect(readDataset(join(dir, 'data.jsonl'))).rejects.toMatchObject({ code: 'DATASET_INVALID' });
  });
});

describe('dataset URLs go through the downloader', () => {
  const dataset = (p: string) => (p === '/d/train.jsonl' ? { data: Buffer.from(DATASET) } : undefined);

  it('a reset mid-body is resumed, not "internal error: TypeError: terminated"', async () => {
    server.behavior = { body: dataset, dropAtOffset: 100_000, dropPath: 'train.jsonl', dropTimes: 2 };
    const { text } = await fetchDatasetText(`${server.base}d/train.jsonl`, { retryDelayMs: 1 });
    expect(text).toBe(DATASET);
    expect(server.requests.map((q) => q.range)).toEqual([null, 'bytes=100000-', 'bytes=100000-']);
  });

  it('a stalled body times out and is resumed; progress is reported', async () => {
    server.behavior = { body: dataset, dropAtOffset: 100_000, dropPath: 'train.jsonl', dropTimes: 1, stall: true };
    const seen: number[] = [];
    const { text } = await fetchDatasetText(`${server.base}d/train.jsonl`, { retryDelayMs: 1, stallTimeoutMs: 300, onProgress: (p) => seen.push(p.loaded) });
    expect(text).toBe(DATASET);
    expect(seen.at(-1)).toBe(DATASET.length);
  });

  it('a dataset past the cap is refused on its Content-Length, and gives up with NETWORK after the retries', async () => {
    server.behavior = { body: (p) => (p === '/d/huge.jsonl' ? { data: Buffer.from('{}'), headers: { 'content-length': String(SIZE_LIMITS.dataset.bytes + 1) } } : undefined) };
    await expect(fetchDatasetText(`${server.base}d/huge.jsonl`, { retryDelayMs: 1 })).rejects.toMatchObject({ code: 'DATASET_INVALID' });
    server.behavior = { body: dataset, dropAtOffset: 1000, dropPath: 'train.jsonl' };
    const err = await fetchDatasetText(`${server.base}d/train.jsonl`, { retries: 1, retryDelayMs: 1 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'NETWORK' });
    expect(err.message).toMatch(/failed after 2 attempts/);
  });
});
