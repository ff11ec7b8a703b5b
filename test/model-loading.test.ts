// Loading models the ways users give them: an http(s) base URL in the Hub layout (a local server here,
// as no hub is reachable), and a sharded checkpoint behind model.safetensors.index.json. Plus the
// sampler used by generation.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { readFileSync, mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelFiles, urlReader } from '../src/io/model-files';
import { dirReader } from '../src/io/node-files';
import { writeSafetensors } from '../src/formats/safetensors';
import { sample, argmax } from '../src/engine/generate';
import { createRng } from '../src/data/rng';
import { FIXTURES, readSafetensors } from './helpers/golden';

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
    try {
      const body = readFileSync(join(FIXTURES, 'tiny-qwen2', name));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'access-control-allow-origin': '*' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('model loading', () => {
  it('reads a model from an http base URL', async () => {
    const m = await readModelFiles(urlReader(base));
    expect(m.config.modelType).toBe('qwen2');
    expect(m.tensors.names().length).toBe(readSafetensors(`${FIXTURES}tiny-qwen2/model.safetensors`).names().length);
    expect(m.tokenizer.encode('Red.')).toEqual(m.tokenizer.encode('Red.'));
  });

  it('a missing file is a clear error', async () => {
    await expect(readModelFiles(urlReader(base + 'nope/'))).rejects.toThrow(/config\.json/);
  });

  it('reads a sharded checkpoint through its index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qlora-shards-'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(`${FIXTURES}tiny-llama/${f}`, join(dir, f));
    const whole = readSafetensors(`${FIXTURES}tiny-llama/model.safetensors`);
    const names = whole.names();
    const shards = [names.slice(0, 7), names.slice(7)];
    const weightMap: Record<string, string> = {};
    shards.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(join(dir, file), writeSafetensors(part.map((n) => ({ name: n, dtype: 'F32', shape: whole.info(n).shape, data: whole.float32(n) }))));
      for (const n of part) weightMap[n] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const m = await readModelFiles(dirReader(dir));
    expect(m.tensors.names().sort()).toEqual([...names].sort());
    for (const n of names) expect(Array.from(m.tensors.float32(n))).toEqual(Array.from(whole.float32(n)));
  });
});

describe('sampling', () => {
  const logits = Float32Array.from([0.1, 2.0, 1.9, -1, 0.5]);
  it('greedy is the argmax; a tiny temperature or top-p falls back to it', () => {
    expect(argmax(logits)).toBe(1);
    expect(sample(logits, 1e-4, 1, createRng(1))).toBe(1);
    expect(sample(logits, 1, 1e-6, createRng(1))).toBe(1);
  });
  it('is reproducible from the seed and follows the distribution', () => {
    const draw = (seed: number) => Array.from({ length: 50 }, (_, i) => sample(logits, 1, 1, createRng(seed * 1000 + i)));
    expect(draw(3)).toEqual(draw(3));
    const counts = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const t = sample(logits, 1, 1, createRng(i));
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    const p = Array.from(logits, (x) => Math.exp(x));
    const z = p.reduce((a, b) => a + b);
    expect((counts.get(1) ?? 0) / 4000).toBeCloseTo(p[1] / z, 1);
    // top-p 0.8 keeps only the two most likely tokens here
    const kept = new Set(Array.from({ length: 300 }, (_, i) => sample(logits, 1, 0.8, createRng(i))));
    expect([...kept].sort()).toEqual([1, 2]);
  });
});
