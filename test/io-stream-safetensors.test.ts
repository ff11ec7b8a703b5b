// The streaming safetensors parser against the in-memory reader: whatever the chunking (one byte at a
// time through the header, odd sizes after), every tensor comes out once, in data order, with the
// bytes SafetensorsFile sees; truncation and junk are WEIGHTS_CORRUPT naming the file.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { SafetensorsFile, writeSafetensors } from '../src/formats/safetensors';
import { SafetensorsStreamParser } from '../src/io/stream-safetensors';
import { FIXTURES } from './helpers/golden';

const FILE = new Uint8Array(readFileSync(`${FIXTURES}tiny-llama-bnb-nf4/model.safetensors`));
const whole = new SafetensorsFile(FILE, 'whole');

function collect(fileSize: number | null, opts: ConstructorParameters<typeof SafetensorsStreamParser>[3] = {}) {
  const seen: { name: string; bytes: Uint8Array }[] = [];
  const parser = new SafetensorsStreamParser('model.safetensors', fileSize, (info, bytes) => void seen.push({ name: info.name, bytes }), opts);
  return { parser, seen };
}

async function pushInChunks(parser: SafetensorsStreamParser, bytes: Uint8Array, sizes: (i: number) => number): Promise<void> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes(i));
    await parser.push(bytes.subarray(at, at + n));
    at += n;
  }
}

describe('SafetensorsStreamParser', () => {
  for (const [label, sizes] of [
    ['1-byte chunks', () => 1],
    ['odd chunks', (i: number) => 1 + ((i * 7919) % 4093)],
    ['one chunk', () => FILE.length],
  ] as const) {
    it(`hands over every tensor in data order (${label})`, async () => {
      const { parser, seen } = collect(FILE.length);
      await pushInChunks(parser, FILE, sizes);
      parser.end();
      expect(parser.complete).toBe(true);
      expect(seen.map((t) => t.name)).toEqual(whole.names());
      for (const t of seen) {
        expect(t.bytes.byteOffset).toBe(0);
        expect(Buffer.from(t.bytes).equals(Buffer.from(whole.bytes(t.name)))).toBe(true);
      }
    });
  }

  it('works out the size from the header when none is given', async () => {
    const { parser, seen } = collect(null);
    await pushInChunks(parser, FILE, () => 10_000);
    parser.end();
    expect(seen.length).toBe(whole.names().length);
    expect(parser.size).toBe(FILE.length);
  });

  it('drops unwanted tensors without holding them', async () => {
    const { parser, seen } = collect(FILE.length, { wanted: (t) => t.name.startsWith('model.layers.1.') });
    await pushInChunks(parser, FILE, () => 5000);
    parser.end();
    expect(seen.map((t) => t.name)).toEqual(whole.names().filter((n) => n.startsWith('model.layers.1.')));
  });

  it('skips ahead to the next wanted tensor', async () => {
    const wanted = (t: { name: string }) => t.name === 'model.norm.weight' || t.name.startsWith('model.layers.1.mlp.up_proj.weight');
    const { parser, seen } = collect(FILE.length, { wanted });
    await parser.push(FILE.subarray(0, whole.header.dataStart + 10));
    const next = parser.nextWantedOffset() as number;
    const first = Math.min(...whole.names().filter((n) => wanted({ name: n })).map((n) => whole.info(n).begin));
    expect(next).toBe(whole.header.dataStart + first);
    expect(first).toBeGreaterThan(100_000); // most of the file is skipped
    await parser.skipTo(next);
    await parser.push(FILE.subarray(next));
    parser.end();
    expect(seen.map((t) => t.name)).toEqual(whole.names().filter((n) => wanted({ name: n })));
    await expect(parser.skipTo(0)).rejects.toThrow(/cannot skip/);
  });

  it('starts over after reset() (a server that ignored Range)', async () => {
    const { parser, seen } = collect(FILE.length);
    await parser.push(FILE.subarray(0, 200_000));
    parser.reset();
    await parser.push(FILE);
    parser.end();
    // Tensors finished before the reset come again: the consumer keeps the last copy.
    expect(new Set(seen.map((t) => t.name))).toEqual(new Set(whole.names()));
  });

  it('a truncated file is WEIGHTS_CORRUPT naming the file and the tensor', async () => {
    const cut = FILE.length - 5000;
    const unknownSize = collect(null);
    await unknownSize.parser.push(FILE.subarray(0, cut));
    expect(() => unknownSize.parser.end()).toThrow(/model\.safetensors: the file ends after 333763 of 338763 bytes, inside tensor "model\.layers\.1\..*truncated/);

    const inHeader = collect(FILE.length);
    await inHeader.parser.push(FILE.subarray(0, 100));
    expect(() => inHeader.parser.end()).toThrow(/model\.safetensors: the file ends after 100 bytes, inside its \d+-byte header/);

    // A size that disagrees with the header fails as soon as the header is read.
    const short = collect(cut);
    const err = await short.parser.push(FILE.subarray(0, cut)).catch((e) => e);
    expect(err).toMatchObject({ code: 'WEIGHTS_CORRUPT', details: { fileName: 'model.safetensors' } });
    expect(err.message).toMatch(/truncated/);
  });

  it('refuses bytes past the end and a bad header', async () => {
    const extra = collect(null);
    const withJunk = new Uint8Array(FILE.length + 3);
    withJunk.set(FILE);
    await expect(extra.parser.push(withJunk)).rejects.toMatchObject({ code: 'WEIGHTS_CORRUPT' });
    const sized = collect(FILE.length);
    await expect(sized.parser.push(withJunk)).rejects.toThrow(/more than the 338763 bytes/);
    const bad = collect(null);
    await expect(bad.parser.push(new TextEncoder().encode('not a safetensors file'))).rejects.toMatchObject({ code: 'WEIGHTS_CORRUPT' });
  });

  it('hands over zero-size tensors', async () => {
    const bytes = writeSafetensors([
      { name: 'a', dtype: 'F32', shape: [0], data: new Float32Array(0) },
      { name: 'b', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
      { name: 'c', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    ]);
    const { parser, seen } = collect(bytes.length);
    await pushInChunks(parser, bytes, () => 3);
    parser.end();
    expect(seen.map((t) => [t.name, t.bytes.length])).toEqual([['a', 0], ['b', 8], ['c', 0]]);
  });
});
