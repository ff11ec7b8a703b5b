// Batches against the golden training batch (first 3 alpaca-tiny records, right-padded to T=101),
// the causal shift of the targets, and the loader's epochs, shuffle and exact resume.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DataLoader, collate, type LoaderBatch } from '../src/data/batch';
import { IGNORE_INDEX, buildExamples, type TrainingExample } from '../src/data/examples';
import { createTokenizer } from '../src/data/tokenizer';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const readJson = (path: string): any => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8'));

const tok = createTokenizer(readJson('tokenizer/tokenizer.json'), readJson('tokenizer/tokenizer_config.json'));
const alpaca: unknown[] = readJson('alpaca-tiny.json');

describe('collate', () => {
  for (const run of ['tiny-llama/lora', 'tiny-llama/qlora', 'tiny-qwen2/lora', 'tiny-qwen2/qlora']) {
    it(`reproduces the golden batch of ${run}`, () => {
      const golden = readJson(`golden/${run}/golden.json`).batch;
      const { examples } = buildExamples(alpaca.slice(0, 3), 'alpaca', tok);
      const batch = collate(examples, tok.padTokenId as number);
      expect(batch.batchSize).toBe(3);
      expect(batch.seqLen).toBe(101);
      expect(Array.from(batch.inputIds)).toEqual(golden.input_ids.flat());
      expect(Array.from(batch.labels)).toEqual(golden.labels.flat());
    });
  }

  it('shifts targets by one (targets[b, t] = labels[b, t + 1]) and counts tokens', () => {
    const { examples } = buildExamples(alpaca.slice(0, 3), 'alpaca', tok);
    const batch = collate(examples, 0);
    const T = batch.seqLen;
    for (let b = 0; b < batch.batchSize; b++) {
      for (let t = 0; t < T; t++) {
        const expected = t === T - 1 ? IGNORE_INDEX : batch.labels[b * T + t + 1];
        expect(batch.targets[b * T + t]).toBe(expected);
      }
    }
    expect(batch.tokenCount).toBe(examples.reduce((n, e) => n + e.inputIds.length, 0));
    expect(batch.targetCount).toBe(examples.reduce((n, e) => n + e.labels.slice(1).filter((l) => l !== IGNORE_INDEX).length, 0));
  });

  it('pads to a fixed length on request and rejects examples longer than it', () => {
    const examples: TrainingExample[] = [
      { inputIds: [5, 6, 7], labels: [-100, 6, 7] },
      { inputIds: [8], labels: [8] },
    ];
    const batch = collate(examples, 9, { padToLength: 4 });
    expect(Array.from(batch.inputIds)).toEqual([5, 6, 7, 9, 8, 9, 9, 9]);
    expect(Array.from(batch.labels)).toEqual([-100, 6, 7, -100, 8, -100, -100, -100]);
    expect(Array.from(batch.targets)).toEqual([6, 7, -100, -100, -100, -100, -100, -100]);
    expect(batch.tokenCount).toBe(4);
    expect(batch.targetCount).toBe(2);
    expect(() => collate(examples, 9, { padToLength: 2 })).toThrow(/3 tokens/);
  });
});

describe('DataLoader', () => {
  // Example i is the single token i, so a batch's ids name its examples.
  const examples: TrainingExample[] = Array.from({ length: 10 }, (_, i) => ({ inputIds: [i, i], labels: [i, i] }));
  const firstIds = (b: LoaderBatch): number[] => Array.from({ length: b.batchSize }, (_, r) => b.inputIds[r * b.seqLen]);

  it('walks the examples in file order without shuffle, with a short last batch per epoch', () => {
    const loader = new DataLoader(examples, { batchSize: 4, padTokenId: 0, shuffle: false });
    const batches = [...loader.take(4)];
    expect(batches.map(firstIds)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3]]);
    expect(batches.map((b) => b.epoch)).toEqual([0, 0, 0, 1]);
    expect(batches[2].exampleIndices).toEqual([8, 9]);
    expect(loader.position).toEqual({ epoch: 1, index: 4 });
  });

  it('shuffles each epoch differently, deterministically from the seed', () => {
    const a = new DataLoader(examples, { batchSize: 10, padTokenId: 0, seed: 7 });
    const b = new DataLoader(examples, { batchSize: 10, padTokenId: 0, seed: 7 });
    const [a0, a1] = [...a.take(2)].map((x) => x.exampleIndices);
    const [b0, b1] = [...b.take(2)].map((x) => x.exampleIndices);
    expect(a0).toEqual(b0);
    expect(a1).toEqual(b1);
    expect(a0).not.toEqual(a1);
    expect([...a0].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const other = new DataLoader(examples, { batchSize: 10, padTokenId: 0, seed: 8 });
    expect(other.next().exampleIndices).not.toEqual(a0);
  });

  it('resumes from a saved position on exactly the batches it would have produced', () => {
    const options = { batchSize: 3, padTokenId: 0, seed: 123 };
    const straight = new DataLoader(examples, options);
    const all = [...straight.take(9)].map((b) => b.exampleIndices);

    const first = new DataLoader(examples, options);
    [...first.take(5)];
    const saved = first.position;
    const resumed = new DataLoader(examples, { ...options, start: saved });
    expect([...resumed.take(4)].map((b) => b.exampleIndices)).toEqual(all.slice(5));
  });

  it('rejects bad options', () => {
    expect(() => new DataLoader([], { batchSize: 1, padTokenId: 0 })).toThrow(/no training examples/);
    expect(() => new DataLoader(examples, { batchSize: 0, padTokenId: 0 })).toThrow(/batchSize/);
    expect(() => new DataLoader(examples, { batchSize: 1, padTokenId: 0, start: { epoch: 0, index: 10 } })).toThrow(/resume/);
  });
});
