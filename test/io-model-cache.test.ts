// The model cache over the in-memory store (which clones like IndexedDB): every HostWeight format
// round-trips bit for bit, a model reads as complete only once its manifest is written, sizes and
// deletion work, a full disk is a STORAGE error with the way out, and damaged entries are caught.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { SafetensorsFile } from '../src/formats/safetensors';
import { singleFile } from '../src/formats/tensor-source';
import { parseModelConfig } from '../src/formats/model-config';
import { prepareBaseWeights } from '../src/engine/base-weights';
import type { HostWeight } from '../src/gpu/weight';
import {
  beginCachedModel,
  cachedFilesReader,
  cachedModels,
  deleteCachedModel,
  finishCachedModel,
  isModelCached,
  layerPart,
  loadCachedModel,
  loadCachedLayer,
  memoryStore,
  modelCacheKey,
  quantLabel,
  savePart,
  saveLayer,
  weightFromStored,
  weightToStored,
} from '../src/io/model-cache';
import { readModelConfig } from '../src/io/model-files';
import { layerFromStored, layerToStored } from '../src/io/stored-weight';
import { FIXTURES } from './helpers/golden';

const dir = `${FIXTURES}tiny-llama/`;
const configText = readFileSync(`${dir}config.json`, 'utf8');
const files = { 'config.json': configText, 'tokenizer.json': readFileSync(`${dir}tokenizer.json`, 'utf8') };
const cfg = parseModelConfig(JSON.parse(configText));
const src = singleFile(new SafetensorsFile(new Uint8Array(readFileSync(`${dir}model.safetensors`)), 'model.safetensors'));

async function saveAll(store: ReturnType<typeof memoryStore>, key: string, quant: 'nf4' | 'f16' | 'f32', doubleQuant = true) {
  const w = prepareBaseWeights(src, cfg, quant, { doubleQuant });
  const done = await beginCachedModel(store, key, { sourceId: 'test:tiny', label: 'tiny', quant: quantLabel(quant, doubleQuant), files });
  await savePart(store, key, 'embed', w.embed, done);
  await savePart(store, key, 'lm_head', w.lmHead as HostWeight, done);
  for (const [i, l] of w.layers.entries()) await saveLayer(store, key, i, l, done);
  await savePart(store, key, 'norm', w.finalNorm, done);
  return { w, done };
}

describe('model cache', () => {
  it('round-trips every weight format exactly', () => {
    for (const quant of ['nf4', 'f16', 'f32'] as const) {
      for (const doubleQuant of [true, false]) {
        const w = prepareBaseWeights(src, cfg, quant, { doubleQuant });
        for (const weight of [w.embed, ...w.layers.flatMap((l) => Object.values(l.proj))]) {
          const back = weightFromStored(structuredClone(weightToStored(weight)), 'w');
          expect(back).toEqual(weight);
        }
      }
    }
    const bf16: HostWeight = { format: 'bf16', rows: 2, cols: 3, data: Uint16Array.from([1, 2, 3, 4, 5, 6]) };
    expect(weightFromStored(weightToStored(bf16), 'w')).toEqual(bf16);
  });

  it('stores views compactly, not their whole buffer', () => {
    const big = new Float32Array(1000);
    const w: HostWeight = { format: 'f32', rows: 2, cols: 2, data: big.subarray(4, 8) };
    const s = weightToStored(w) as { data: Float32Array };
    expect(s.data.buffer.byteLength).toBe(16);
  });

  for (const [quant, dq] of [['nf4', true], ['nf4', false], ['f16', true], ['f32', true]] as const) {
    it(`a saved model (${quantLabel(quant, dq)}) loads back equal, complete only after the manifest`, async () => {
      const store = memoryStore();
      const key = modelCacheKey('test:tiny', quantLabel(quant, dq));
      const { w, done } = await saveAll(store, key, quant, dq);
      expect(await isModelCached(store, key)).toBe(false);
      await expect(loadCachedModel(store, key)).rejects.toMatchObject({ code: 'STORAGE' });
      const [partial] = await cachedModels(store);
      expect(partial).toMatchObject({ key, complete: false, partsDone: 2 + 1 + cfg.numLayers });

      await finishCachedModel(store, key, { numLayers: cfg.numLayers, tied: false }, done);
      const loaded = await loadCachedModel(store, key);
      expect(loaded.weights).toEqual(w);
      expect(await loadCachedLayer(store, key, 1)).toEqual(w.layers[1]);
      expect(loaded.config).toEqual(cfg);
      expect(loaded.files).toEqual(files);
      expect((await readModelConfig(cachedFilesReader(loaded))).hiddenSize).toBe(64);
      const [info] = await cachedModels(store);
      expect(info).toMatchObject({ key, complete: true, quant: quantLabel(quant, dq), label: 'tiny' });
      expect(info.bytes).toBeGreaterThan(store.bytes() * 0.9);
      expect(info.bytes).toBeLessThanOrEqual(store.bytes());
    });
  }

  it('deletes a model and only that model', async () => {
    const store = memoryStore();
    const a = modelCacheKey('test:a', 'f32');
    const b = modelCacheKey('test:b', 'f32');
    for (const key of [a, b]) {
      const { done } = await saveAll(store, key, 'f32');
      await finishCachedModel(store, key, { numLayers: cfg.numLayers, tied: false }, done);
    }
    await deleteCachedModel(store, a);
    expect((await cachedModels(store)).map((m) => m.key)).toEqual([b]);
    expect((await store.keys()).every((k) => k.startsWith(`${b}#`))).toBe(true);
  });

  it('resumes: parts done survive, a changed config.json starts over', async () => {
    const store = memoryStore();
    const key = modelCacheKey('test:tiny', 'f32');
    const w = prepareBaseWeights(src, cfg, 'f32');
    const first = await beginCachedModel(store, key, { sourceId: 'test:tiny', label: 'tiny', quant: 'f32', files });
    await savePart(store, key, 'embed', w.embed, first);
    await saveLayer(store, key, 0, w.layers[0], first);
    const again = await beginCachedModel(store, key, { sourceId: 'test:tiny', label: 'tiny', quant: 'f32', files });
    expect([...again.keys()].sort()).toEqual(['embed', layerPart(0)]);
    const changed = { ...files, 'config.json': configText.replace('"vocab_size": 512', '"vocab_size": 513') };
    const fresh = await beginCachedModel(store, key, { sourceId: 'test:tiny', label: 'tiny', quant: 'f32', files: changed });
    expect(fresh.size).toBe(0);
    expect((await store.keys()).sort()).toEqual([`${key}#meta`]);
  });

  it('a full disk is STORAGE with the way out; finished parts stay', async () => {
    const store = memoryStore({ quotaBytes: 200_000 });
    const key = modelCacheKey('test:tiny', 'f32');
    const err = await saveAll(store, key, 'f32').catch((e) => e);
    expect(err).toMatchObject({ code: 'STORAGE' });
    expect(err.message).toMatch(/Browser storage is full.*delete cached models in the Storage panel or allow more storage/i);
    const [partial] = await cachedModels(store);
    expect(partial.complete).toBe(false);
    expect(partial.partsDone).toBeGreaterThan(0);
  });

  it('a damaged entry is STORAGE naming the part', async () => {
    const store = memoryStore();
    const key = modelCacheKey('test:tiny', 'nf4-dq');
    const { done } = await saveAll(store, key, 'nf4');
    await finishCachedModel(store, key, { numLayers: cfg.numLayers, tied: false }, done);
    const layer = (await store.get(`${key}#part:layer.1`)) as { proj: { q_proj: { packed: Uint8Array } } };
    layer.proj.q_proj.packed = layer.proj.q_proj.packed.subarray(1);
    await store.set(`${key}#part:layer.1`, layer);
    await expect(loadCachedModel(store, key)).rejects.toThrow(/damaged.*layer\.1\.q_proj: packed is not a Uint8Array\[2048\].*Delete it/);
    await store.del(`${key}#part:norm`);
    await expect(loadCachedModel(store, key)).rejects.toThrow(/damaged/);
  });
});

describe('large entries', () => {
  it('are stored in bounded pieces and joined back', async () => {
    const store = memoryStore();
    const key = modelCacheKey('test:tiny', 'f32');
    const w = prepareBaseWeights(src, cfg, 'f32');
    const done = await beginCachedModel(store, key, { sourceId: 'test:tiny', label: 'tiny', quant: 'f32', files });
    await savePart(store, key, 'embed', w.embed, done, { entryMaxBytes: 10_000 });
    await savePart(store, key, 'lm_head', w.lmHead as HostWeight, done, { entryMaxBytes: 10_000 });
    for (const [i, l] of w.layers.entries()) await savePart(store, key, layerPart(i), l, done, { entryMaxBytes: 4_000 });
    await savePart(store, key, 'norm', w.finalNorm, done, { entryMaxBytes: 100 });
    await finishCachedModel(store, key, { numLayers: cfg.numLayers, tied: false }, done);
    const entries = await store.keys();
    expect(entries.filter((k) => k.startsWith(`${key}#part:embed~`)).length).toBe(Math.ceil((512 * 64 * 4) / 10_000));
    const arrayBytes = (v: unknown): number =>
      ArrayBuffer.isView(v) ? v.byteLength : typeof v === 'object' && v !== null ? Object.values(v).reduce((n: number, x) => n + arrayBytes(x), 0) : 0;
    for (const k of entries.filter((e) => e.includes('#part:'))) {
      expect(arrayBytes(await store.get(k))).toBeLessThanOrEqual(k.includes('layer') ? 4_000 : 10_000);
    }
    expect((await loadCachedModel(store, key)).weights).toEqual(w);

    await store.del(`${key}#part:embed~3`);
    await expect(loadCachedModel(store, key)).rejects.toThrow(/damaged \(embed: piece 3 is missing/);
    await deleteCachedModel(store, key);
    expect(await store.keys()).toEqual([]);
  });
});

describe('cache entries written before Qwen3 / Gemma 3 support', () => {
  it('a layer stored with inputNorm / postNorm reads back as the attnIn / mlpIn norms', () => {
    const cfg = parseModelConfig(JSON.parse(readFileSync(`${FIXTURES}tiny-llama/config.json`, 'utf8')));
    const src = singleFile(new SafetensorsFile(new Uint8Array(readFileSync(`${FIXTURES}tiny-llama/model.safetensors`)), 'tiny-llama'));
    const layer = prepareBaseWeights(src, cfg, 'f16').layers[0];
    const { norms, ...rest } = layerToStored(layer);
    const old = { ...rest, inputNorm: norms.attnIn, postNorm: norms.mlpIn };
    expect(layerFromStored(old, 'layer.0')).toEqual(layerFromStored({ norms, ...rest }, 'layer.0'));
    expect(() => layerFromStored({ norms: { attnIn: norms.attnIn, bogus: norms.mlpIn }, ...rest }, 'layer.0')).toThrow(/unknown norm "bogus"/);
  });
});
