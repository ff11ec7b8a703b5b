// Acquiring a model end to end, over http from a local server and from picked Files: what lands in the
// cache equals prepareBaseWeights of the same files (NF4 packed bytes byte for byte), for float,
// bitsandbytes and sharded checkpoints; interrupted runs resume without redoing finished layers;
// failures say what went wrong and name the file.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../src/formats/safetensors';
import { parseModelConfig } from '../src/formats/model-config';
import { prepareBaseWeights, type BaseQuant } from '../src/engine/base-weights';
import { dirReader } from '../src/io/node-files';
import { readTensors } from '../src/io/model-files';
import { acquireModel, type AcquireProgress } from '../src/io/model-acquire';
import { cachedModels, loadCachedModel, memoryStore } from '../src/io/model-cache';
import { localModel, urlModel } from '../src/io/hub';
import { startFileServer, type FileServer } from './helpers/file-server';
import { isQloraError } from '../src/errors';
import { FIXTURES } from './helpers/golden';

const TEXT_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** tiny-llama split in two shards after `splitAt` tensors (7: layer 0 straddles them, as in test/model-loading). */
function makeShardedCopy(splitAt: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'qlora-io-shards-'));
  for (const f of TEXT_FILES) copyFileSync(`${FIXTURES}tiny-llama/${f}`, join(dir, f));
  const whole = new SafetensorsFile(new Uint8Array(readFileSync(`${FIXTURES}tiny-llama/model.safetensors`)), 'whole');
  const names = whole.names();
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  [names.slice(0, splitAt), names.slice(splitAt)].forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeFileSync(join(dir, file), writeSafetensors(part.map((n) => ({ name: n, dtype: 'F32', shape: whole.info(n).shape, data: whole.float32(n) }))));
    for (const n of part) {
      weightMap[n] = file;
      totalSize += whole.info(n).end - whole.info(n).begin;
    }
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }));
  return dir;
}

/** tiny-llama with model.safetensors cut short, and a folder with no weights at all. */
function makeBrokenCopies(): { truncated: string; noWeights: string; badTokenizerConfig: string } {
  const truncated = mkdtempSync(join(tmpdir(), 'qlora-io-trunc-'));
  const noWeights = mkdtempSync(join(tmpdir(), 'qlora-io-noweights-'));
  const badTokenizerConfig = mkdtempSync(join(tmpdir(), 'qlora-io-badtok-'));
  for (const f of TEXT_FILES) {
    copyFileSync(`${FIXTURES}tiny-llama/${f}`, join(truncated, f));
    copyFileSync(`${FIXTURES}tiny-llama/${f}`, join(noWeights, f));
    copyFileSync(`${FIXTURES}tiny-llama/${f}`, join(badTokenizerConfig, f));
  }
  const bytes = readFileSync(`${FIXTURES}tiny-llama/model.safetensors`);
  writeFileSync(join(truncated, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000));
  copyFileSync(`${FIXTURES}tiny-llama/model.safetensors`, join(badTokenizerConfig, 'model.safetensors'));
  writeFileSync(join(badTokenizerConfig, 'tokenizer_config.json'), '{"eos_token": "<|im_end|>", oops');
  return { truncated, noWeights, badTokenizerConfig };
}

let server: FileServer;
let shardedDir = '';
let splitAfterEmbedDir = '';
const FOLDERS: Record<string, string> = {
  llama: `${FIXTURES}tiny-llama`,
  bnb: `${FIXTURES}tiny-llama-bnb-nf4`,
  qwen: `${FIXTURES}tiny-qwen2`,
  qwen3: `${FIXTURES}tiny-qwen3`,
  gemma3: `${FIXTURES}tiny-gemma3`,
  'gemma3-bnb': `${FIXTURES}tiny-gemma3-bnb-nf4`,
};

beforeAll(async () => {
  shardedDir = makeShardedCopy(7);
  splitAfterEmbedDir = makeShardedCopy(2); // shard 1: lm_head and the embedding only
  const broken = makeBrokenCopies();
  server = await startFileServer({
    ...FOLDERS,
    sharded: shardedDir,
    sharded2: splitAfterEmbedDir,
    trunc: broken.truncated,
    noweights: broken.noWeights,
    badtok: broken.badTokenizerConfig,
  });
});
afterAll(() => server.close());
beforeEach(() => {
  server.behavior = {};
  server.requests.length = 0;
});

/** What prepareBaseWeights makes of the same folder, all in memory: the reference. */
async function expected(dir: string, quant: BaseQuant, doubleQuant = true) {
  const files = dirReader(dir);
  const cfg = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  return prepareBaseWeights(await readTensors(files), cfg, quant, { doubleQuant });
}

const fast = { retryDelayMs: 1, skipGapBytes: 0 };

function checkProgress(events: AcquireProgress[]): void {
  for (let i = 1; i < events.length; i++) {
    expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
    expect(events[i].partsDone).toBeGreaterThanOrEqual(events[i - 1].partsDone);
  }
  const last = events.at(-1) as AcquireProgress;
  expect(last).toMatchObject({ stage: 'done' });
  expect(last.partsDone).toBe(last.partsTotal);
  expect(last.loaded).toBe(last.total);
}

describe('acquireModel over http', () => {
  const cases: [string, BaseQuant, boolean][] = [
    ['llama', 'nf4', true],
    ['llama', 'nf4', false],
    ['llama', 'f16', true],
    ['llama', 'f32', true],
    ['qwen', 'nf4', true],
    ['bnb', 'nf4', true],
    ['bnb', 'f16', true],
    ['qwen3', 'nf4', true], // q/k norms
    ['gemma3', 'nf4', true], // four norms a layer and q/k norms, as stored by the cache
    ['gemma3-bnb', 'nf4', true],
  ];
  for (const [folder, quant, doubleQuant] of cases) {
    it(`${folder} ${quant}${doubleQuant ? '' : ' (no double quant)'}: the cache holds what prepareBaseWeights makes`, async () => {
      const store = memoryStore();
      const events: AcquireProgress[] = [];
      const result = await acquireModel(urlModel(`${server.base}${folder}`), { store, quant, doubleQuant, onProgress: (p) => events.push(p), ...fast });
      expect(result.fromCache).toBe(false);
      const cached = await loadCachedModel(store, result.key);
      const want = await expected(FOLDERS[folder], quant, doubleQuant);
      expect(cached.weights).toEqual(want);
      if (quant === 'nf4') {
        const a = cached.weights.layers[1].proj.down_proj!;
        const b = want.layers[1].proj.down_proj!;
        expect(a.format === 'nf4' && b.format === 'nf4' && Buffer.from(a.data.packed).equals(Buffer.from(b.data.packed))).toBe(true);
      }
      expect(cached.files['tokenizer.json']).toBe(readFileSync(join(FOLDERS[folder], 'tokenizer.json'), 'utf8'));
      checkProgress(events);
      expect(events.at(-1)?.partsTotal).toBe(cached.config.numLayers + (want.lmHead ? 3 : 2));
      // Layers were prepared while the file was still arriving, not after holding it whole.
      expect(events.some((e) => e.stage === 'quantize' && e.loaded < e.total)).toBe(true);
    });
  }

  it('a sharded checkpoint, shard by shard', async () => {
    const store = memoryStore();
    const events: AcquireProgress[] = [];
    const { key } = await acquireModel(urlModel(`${server.base}sharded/`), { store, onProgress: (p) => events.push(p), ...fast });
    expect((await loadCachedModel(store, key)).weights).toEqual(await expected(shardedDir, 'nf4'));
    checkProgress(events);
    expect(events.some((e) => e.phase === 'download model-00002-of-00002.safetensors (2/2)')).toBe(true);
    const total = readdirSync(shardedDir).filter((f) => f.endsWith('.safetensors')).reduce((n, f) => n + readFileSync(join(shardedDir, f)).length, 0);
    expect(events.at(-1)?.total).toBe(total);
  });

  it('a cached model is not fetched again', async () => {
    const store = memoryStore();
    const first = await acquireModel(urlModel(`${server.base}llama`), { store, ...fast });
    server.requests.length = 0;
    const second = await acquireModel(urlModel(`${server.base}llama`), { store, ...fast });
    expect(second).toMatchObject({ key: first.key, fromCache: true });
    expect(second.config.numLayers).toBe(2);
    expect(server.requests).toEqual([]);
  });

  it('rides out a dropped connection and a server that ignores Range', async () => {
    for (const behavior of [{ dropAtOffset: 300_000, dropTimes: 1 }, { dropAtOffset: 300_000, dropTimes: 1, ignoreRange: true }]) {
      server.behavior = behavior;
      server.requests.length = 0;
      const store = memoryStore();
      const { key } = await acquireModel(urlModel(`${server.base}llama`), { store, ...fast });
      expect((await loadCachedModel(store, key)).weights).toEqual(await expected(FOLDERS.llama, 'nf4'));
      const weightRequests = server.requests.filter((r) => r.path.endsWith('model.safetensors'));
      expect(weightRequests.map((r) => r.status)).toEqual(behavior.ignoreRange ? [200, 200] : [200, 206]);
    }
  });

  it('resumes an interrupted run: finished layers are kept, their bytes skipped with a Range request', async () => {
    const whole = new SafetensorsFile(new Uint8Array(readFileSync(`${FIXTURES}tiny-llama/model.safetensors`)), 'whole');
    const layer0End = Math.max(...whole.names().filter((n) => n.startsWith('model.layers.0.')).map((n) => whole.info(n).end));
    const layer1Start = whole.header.dataStart + Math.min(...whole.names().filter((n) => n.startsWith('model.layers.1.')).map((n) => whole.info(n).begin));
    server.behavior = { dropAtOffset: whole.header.dataStart + layer0End + 100 }; // every attempt dies in layer 1
    const store = memoryStore();
    const model = urlModel(`${server.base}llama`);
    const failed = await acquireModel(model, { store, retries: 1, ...fast }).catch((e) => e);
    expect(failed).toMatchObject({ code: 'NETWORK' });
    const [partial] = await cachedModels(store);
    expect(partial).toMatchObject({ complete: false, partsDone: 3 }); // lm_head, embed, layer 0

    server.behavior = {};
    server.requests.length = 0;
    const events: AcquireProgress[] = [];
    const { key } = await acquireModel(model, { store, onProgress: (p) => events.push(p), ...fast });
    expect((await loadCachedModel(store, key)).weights).toEqual(await expected(FOLDERS.llama, 'nf4'));
    const ranges = server.requests.filter((r) => r.path.endsWith('model.safetensors')).map((r) => r.range);
    expect(ranges).toEqual([null, `bytes=${layer1Start}-`]);
    const prepared = events.filter((e) => e.stage === 'quantize').map((e) => e.phase);
    expect(new Set(prepared)).toEqual(new Set(['quantize layer 2/2', 'prepare the final norm']));
    checkProgress(events);
  });

  it('resumes a sharded run without fetching a shard whose parts are all cached', async () => {
    const store = memoryStore();
    const model = urlModel(`${server.base}sharded2`);
    server.behavior = { dropAtOffset: 200, dropPath: '00002-of-00002.safetensors' };
    await expect(acquireModel(model, { store, retries: 0, ...fast })).rejects.toMatchObject({ code: 'NETWORK' });
    expect((await cachedModels(store))[0].partsDone).toBe(2); // lm_head and the embedding: all of shard 1
    server.behavior = {};
    server.requests.length = 0;
    const { key } = await acquireModel(model, { store, ...fast });
    expect((await loadCachedModel(store, key)).weights).toEqual(await expected(splitAfterEmbedDir, 'nf4'));
    const shards = server.requests.filter((r) => r.path.endsWith('.safetensors')).map((r) => r.path.split('/').at(-1));
    expect(shards).toEqual(['model.safetensors', 'model-00002-of-00002.safetensors']); // the first is the 404 probe
  });

  it('says what to do for a missing model or a gated one, and passes a token', async () => {
    const store = memoryStore();
    const missing = await acquireModel(urlModel(`${server.base}no-such-model`), { store, ...fast }).catch((e) => e);
    expect(missing).toMatchObject({ code: 'NETWORK' });
    expect(missing.message).toMatch(/config\.json failed: HTTP 404.*not found.*check the model id, the revision/i);

    server.behavior = { token: 'hf_secret' };
    const gated = await acquireModel(urlModel(`${server.base}llama`), { store, ...fast }).catch((e) => e);
    expect(gated.message).toMatch(/HTTP 401.*gated.*paste a Hugging Face token/);
    const { key } = await acquireModel(urlModel(`${server.base}llama`, { token: 'hf_secret' }), { store, ...fast });
    expect(JSON.stringify(await cachedModels(store))).not.toContain('hf_secret');
    const everything = await Promise.all((await store.keys()).map((k) => store.get(k)));
    expect(JSON.stringify(everything)).not.toContain('hf_secret');
    expect(key).toContain('llama');
  });

  it('a truncated file is WEIGHTS_CORRUPT naming it, with or without Content-Length', async () => {
    for (const behavior of [{}, { noLength: true }]) {
      server.behavior = behavior;
      const err = await acquireModel(urlModel(`${server.base}trunc`), { store: memoryStore(), ...fast }).catch((e) => e);
      expect(err).toMatchObject({ code: 'WEIGHTS_CORRUPT' });
      expect(err.message).toContain(`${server.base}trunc/model.safetensors`);
      expect(err.message).toMatch(/truncated/);
    }
  });

  it('stops on abort and on a full disk, keeping finished parts for the next attempt', async () => {
    const store = memoryStore();
    const controller = new AbortController();
    const model = urlModel(`${server.base}llama`);
    const onProgress = (p: AcquireProgress) => {
      if (p.partsDone >= 2) controller.abort(new DOMException('cancelled', 'AbortError'));
    };
    await expect(acquireModel(model, { store, signal: controller.signal, onProgress, ...fast })).rejects.toMatchObject({ name: 'AbortError' });
    expect((await cachedModels(store))[0]).toMatchObject({ complete: false });

    const full = memoryStore({ quotaBytes: 120_000 });
    const err = await acquireModel(model, { store: full, ...fast }).catch((e) => e);
    expect(err).toMatchObject({ code: 'STORAGE' });
    expect(err.message).toMatch(/Browser storage is full/);
  });

  it('a model whose tokenizer_config.json is not JSON is refused before anything is cached as complete', async () => {
    const store = memoryStore();
    const err = await acquireModel(urlModel(`${server.base}badtok`), { store, ...fast }).catch((e) => e);
    expect(isQloraError(err), String(err)).toBe(true);
    expect(err.message).toMatch(/tokenizer_config\.json/);
    // Nothing complete is left behind, so a reload does not open a model that fails every time.
    expect((await cachedModels(store)).filter((m) => m.complete)).toEqual([]);
  });

  it('a folder without weights is CONFIG_INVALID', async () => {
    const err = await acquireModel(urlModel(`${server.base}noweights`), { store: memoryStore(), ...fast }).catch((e) => e);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(err.message).toMatch(/neither model\.safetensors nor model\.safetensors\.index\.json/);
  });
});

describe('acquireModel from picked files', () => {
  const pick = (dir: string, skip: string[] = []) =>
    readdirSync(dir)
      .filter((f) => !skip.includes(f))
      .map((f) => Object.assign(new File([readFileSync(join(dir, f))], f), { webkitRelativePath: `picked/${f}` }));

  it('reads a single file and a sharded folder through the same path', async () => {
    for (const [dir, quant] of [[`${FIXTURES}tiny-qwen2`, 'f16'], [shardedDir, 'nf4']] as const) {
      const store = memoryStore();
      const events: AcquireProgress[] = [];
      const { key } = await acquireModel(localModel(pick(dir, ['nf4-expected.safetensors'])), { store, quant, onProgress: (p) => events.push(p) });
      expect((await loadCachedModel(store, key)).weights).toEqual(await expected(dir, quant));
      checkProgress(events);
    }
  });

  it('a truncated local file is WEIGHTS_CORRUPT naming it', async () => {
    const files = pick(`${FIXTURES}tiny-llama`, ['nf4-expected.safetensors', 'model.safetensors']);
    const bytes = readFileSync(`${FIXTURES}tiny-llama/model.safetensors`);
    files.push(new File([bytes.subarray(0, 5000)], 'model.safetensors'));
    const err = await acquireModel(localModel(files), { store: memoryStore() }).catch((e) => e);
    expect(err).toMatchObject({ code: 'WEIGHTS_CORRUPT' });
    expect(err.message).toMatch(/picked\/model\.safetensors: .*truncated/);
  });
});
