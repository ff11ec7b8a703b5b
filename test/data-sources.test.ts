// Datasets where people keep them: Parquet files (fixtures written by pyarrow, test/fixtures/parquet/
// make.py) load as the same rows in JSON would, read a row group at a time; Hub dataset ids resolve
// through the Hub's URL layout (api/datasets/…/tree, datasets/…/resolve), served here by a local
// server in that layout; and the CLI trains and evaluates from either.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import type { AsyncBuffer } from 'hyparquet';
import { parquetToJsonLines } from '../src/data/parquet';
import { parseDatasetText, detectFormat } from '../src/data/records';
import { prepareDataset } from '../src/data/dataset';
import { createTokenizer } from '../src/data/tokenizer';
import { isHubDatasetSpec, parseHubDatasetSpec, splitDataFiles } from '../src/io/hub-dataset';
import { fetchDatasetText } from '../src/io/dataset-source';
import { readDataset } from '../src/io/node-files';
import { startFileServer } from './helpers/file-server';
import type { FileServer } from './helpers/file-server';
import { readGolden } from './helpers/golden';
import { runCli, jsonLines } from './helpers/cli';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const PARQUET = `${FIXTURES}parquet/`;
const alpaca = JSON.parse(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8')) as Record<string, string>[];
const readJson = (p: string) => JSON.parse(readFileSync(`${FIXTURES}${p}`, 'utf8'));
const lines = (text: string) => text.split('\n').map((l) => JSON.parse(l));

/** An AsyncBuffer that records every byte range asked of it. */
function counting(file: AsyncBuffer): { file: AsyncBuffer; reads: [number, number][] } {
  const reads: [number, number][] = [];
  return { reads, file: { byteLength: file.byteLength, slice: (s, e) => (reads.push([s, e ?? file.byteLength]), file.slice(s, e)) } };
}

describe('Parquet', () => {
  it('snappy, 4 row groups: the same records as the JSON file, in order', async () => {
    const text = await parquetToJsonLines(await asyncBufferFromFile(`${PARQUET}alpaca-tiny.parquet`), 'alpaca-tiny.parquet');
    expect(lines(text)).toEqual(alpaca);
    const tok = createTokenizer(readJson('tokenizer/tokenizer.json'), readJson('tokenizer/tokenizer_config.json'));
    const fromParquet = prepareDataset(text, 'alpaca-tiny.parquet', tok);
    const fromJson = prepareDataset(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8'), 'alpaca-tiny.json', tok);
    expect(fromParquet.format).toBe('alpaca');
    expect(fromParquet.examples).toEqual(fromJson.examples);
  });

  it('zstd, list<struct> messages, int64 and float columns: chat records, an inexact int64 kept as its digits', async () => {
    const rows = lines(await parquetToJsonLines(await asyncBufferFromFile(`${PARQUET}chat-tiny.zstd.parquet`), 'chat.parquet'));
    expect(rows.map((r) => r.id)).toEqual([1, 2, '9007199254740993']);
    expect(rows.map((r) => r.score)).toEqual([0.5, 1.25, -2]);
    expect(rows[1].messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hi.' }, { role: 'assistant', content: 'Hi — ünïcode ✓' }]);
    expect(detectFormat(rows)).toBe('chat');
  });

  it('reads a row group at a time: with a limit, later row groups are never read', async () => {
    const base = await asyncBufferFromFile(`${PARQUET}alpaca-tiny.parquet`);
    const meta = await parquetMetadataAsync(base);
    // A column chunk starts at its dictionary page when it has one (pyarrow writes them), else at its first data page.
    const group0 = meta.row_groups[0].columns.map((c) => {
      const start = Number(c.meta_data!.dictionary_page_offset ?? c.meta_data!.data_page_offset);
      return [start, start + Number(c.meta_data!.total_compressed_size)];
    });
    const { file, reads } = counting(base);
    const text = await parquetToJsonLines(file, 'alpaca-tiny.parquet', { limit: 5 });
    expect(lines(text)).toEqual(alpaca.slice(0, 5));
    // The first read is the footer (here the whole small file); every later one lies in row group 0.
    const start0 = Math.min(...group0.map(([s]) => s));
    const end0 = Math.max(...group0.map(([, e]) => e));
    expect(reads.length).toBeGreaterThan(1);
    for (const [s, e] of reads.slice(1)) expect(s >= start0 && e <= end0, `read ${s}-${e} outside row group 0 (${start0}-${end0})`).toBe(true);
  });

  it('a file that is not Parquet says so', async () => {
    await expect(parquetToJsonLines(await asyncBufferFromFile(`${FIXTURES}alpaca-tiny.json`), 'x.parquet')).rejects.toMatchObject({ code: 'DATASET_INVALID', message: expect.stringMatching(/x\.parquet is not a readable Parquet file/) });
  });
});

describe('Hub dataset ids', () => {
  it('parses owner/name, :split, /file, @revision and the hf://datasets/ prefix', () => {
    expect(parseHubDatasetSpec('tatsu-lab/alpaca')).toEqual({ id: 'tatsu-lab/alpaca', revision: 'main', split: 'train', file: null });
    expect(parseHubDatasetSpec('org/ds:validation')).toEqual({ id: 'org/ds', revision: 'main', split: 'validation', file: null });
    expect(parseHubDatasetSpec('hf://datasets/org/ds@v1.0/data/train-00000-of-00001.parquet')).toEqual({ id: 'org/ds', revision: 'v1.0', split: 'train', file: 'data/train-00000-of-00001.parquet' });
    expect(parseHubDatasetSpec('org/ds@refs%2Fconvert%2Fparquet:test').revision).toBe('refs/convert/parquet');
    expect(() => parseHubDatasetSpec('org/ds/README.md')).toThrow(/not a data file path/);
    expect(() => parseHubDatasetSpec('org/../x.json')).toThrow(/not a Hub dataset/);
    expect(() => parseHubDatasetSpec('just-a-name')).toThrow(/owner\/name/);
    expect(isHubDatasetSpec('org/ds')).toBe(true);
    expect(isHubDatasetSpec('https://example.com/org/ds.json')).toBe(false);
    expect(isHubDatasetSpec('hf://datasets/org/ds')).toBe(true);
  });

  it("picks a split's files as `datasets` does: split words in paths, one format, shards in order", () => {
    const repo = ['README.md', 'data/train-00001-of-00002.parquet', 'data/train-00000-of-00002.parquet', 'data/validation-00000-of-00001.parquet', 'data/train.json', '.hidden/train.parquet'];
    expect(splitDataFiles(repo, 'train')).toEqual(['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet']);
    expect(splitDataFiles(repo, 'validation')).toEqual(['data/validation-00000-of-00001.parquet']);
    expect(splitDataFiles(repo, 'test')).toEqual([]);
    expect(splitDataFiles(['default/train/0000.parquet', 'default/test/0000.parquet'], 'test')).toEqual(['default/test/0000.parquet']); // refs/convert/parquet
    expect(splitDataFiles(['dev.jsonl', 'train.jsonl'], 'validation')).toEqual(['dev.jsonl']);
    expect(splitDataFiles(['conversations.jsonl', 'more.jsonl'], 'train')).toEqual(['conversations.jsonl', 'more.jsonl']); // no split named: all train
    expect(splitDataFiles(['conversations.jsonl'], 'test')).toEqual([]);
  });
});

describe('Hub datasets through the Hub URL layout (local server)', () => {
  let server: FileServer;
  let endpoint = '';
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'hub-'));
    const put = (path: string, from: string | Buffer) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      if (typeof from === 'string') copyFileSync(from, join(root, path));
      else writeFileSync(join(root, path), from);
    };
    const repo = 'datasets/org/ds/resolve';
    put(`${repo}/main/README.md`, Buffer.from('# ds\n'));
    put(`${repo}/main/data/train-00000-of-00002.parquet`, `${PARQUET}alpaca-tiny.parquet`);
    put(`${repo}/main/data/train-00001-of-00002.parquet`, `${PARQUET}alpaca-tiny.parquet`);
    put(`${repo}/main/data/validation-00000-of-00001.parquet`, `${PARQUET}chat-tiny.zstd.parquet`);
    put(`${repo}/main/data/test.jsonl`, Buffer.from(alpaca.slice(0, 2).map((r) => JSON.stringify(r)).join('\n') + '\n'));
    put(`${repo}/refs/convert/parquet/default/train/0000.parquet`, `${PARQUET}chat-tiny.zstd.parquet`);
    const tree = (paths: string[]) => Buffer.from(JSON.stringify([{ type: 'directory', oid: '0', size: 0, path: 'data' }, ...paths.map((path) => ({ type: 'file', oid: '0', size: 1, path }))]));
    put('api/datasets/org/ds/tree/main', tree(['README.md', 'data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet', 'data/validation-00000-of-00001.parquet', 'data/test.jsonl']));
    put('api/datasets/org/ds/tree/refs/convert/parquet', tree(['default/train/0000.parquet']));
    server = await startFileServer({ api: join(root, 'api'), datasets: join(root, 'datasets') });
    endpoint = server.base.replace(/\/$/, '');
  });
  afterAll(async () => server?.close());

  it('owner/name: both train shards, joined, read by bounded Range requests', async () => {
    server.requests.length = 0;
    const d = await fetchDatasetText('org/ds', { endpoint });
    expect(d.fileName).toBe('org/ds:train.jsonl');
    expect(lines(d.text)).toEqual([...alpaca, ...alpaca]);
    expect(server.requests[0].path).toBe('/api/datasets/org/ds/tree/main');
    const ranged = server.requests.filter((r) => r.path.endsWith('.parquet') && r.range);
    expect(ranged.length).toBeGreaterThan(2);
    expect(ranged.every((r) => r.status === 206 && /^bytes=\d+-\d+$/.test(r.range!))).toBe(true);
  });

  it('a split, a file, a revision with "/" and a row limit', async () => {
    const val = await fetchDatasetText('org/ds:validation', { endpoint });
    expect(val.fileName).toBe('org/ds/data/validation-00000-of-00001.parquet');
    expect(detectFormat(parseDatasetText(val.text, val.fileName).records)).toBe('chat');
    const test = await fetchDatasetText('hf://datasets/org/ds/data/test.jsonl', { endpoint });
    expect(parseDatasetText(test.text, test.fileName)).toMatchObject({ syntax: 'jsonl', records: alpaca.slice(0, 2) });
    const converted = await fetchDatasetText('org/ds@refs%2Fconvert%2Fparquet', { endpoint });
    expect(lines(converted.text)).toHaveLength(3);
    const limited = await fetchDatasetText('org/ds', { endpoint, limit: 70 });
    expect(lines(limited.text)).toEqual([...alpaca, ...alpaca.slice(0, 6)]);
  });

  it('says what is there when a split is missing, and when the dataset is not', async () => {
    await expect(fetchDatasetText('org/ds:test2', { endpoint })).rejects.toMatchObject({ code: 'DATASET_INVALID', message: expect.stringMatching(/no data files for split "test2".*data\/train-00000-of-00002\.parquet/) });
    await expect(fetchDatasetText('org/nope', { endpoint })).rejects.toMatchObject({ code: 'ARGUMENT_INVALID', message: expect.stringMatching(/no dataset org\/nope@main/) });
  });

  it('a gated dataset asks for a token, and loads with one', async () => {
    server.behavior.token = 'hf_secret';
    try {
      await expect(fetchDatasetText('org/ds:validation', { endpoint })).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringMatching(/private or gated.*token/) });
      const d = await fetchDatasetText('org/ds:validation', { endpoint, headers: { Authorization: 'Bearer hf_secret' } });
      expect(lines(d.text)).toHaveLength(3);
    } finally {
      server.behavior.token = undefined;
    }
  });

  it('the CLI reads a local .parquet and hf://datasets/ (HF_ENDPOINT) like the JSON file: the golden eval loss', async () => {
    expect(lines((await readDataset(`${PARQUET}alpaca-tiny.parquet`, { limit: 3 })).text)).toEqual(alpaca.slice(0, 3));
    const golden = readGolden({ model: 'tiny-qwen2', kind: 'lora', checkpoint: 'float' });
    for (const [data, env] of [[`${PARQUET}alpaca-tiny.parquet`, {}], ['hf://datasets/org/ds', { HF_ENDPOINT: endpoint }]] as const) {
      const r = await runCli([
        'eval', '--model', `${FIXTURES}tiny-qwen2`, '--quant', 'f32', '--adapter', `${FIXTURES}golden/tiny-qwen2/lora/adapter_step3`,
        '--data', data, '--limit', '3', '--batch-size', '3',
      ], env);
      expect(r.code, r.stderr).toBe(0);
      const [out] = jsonLines(r.stdout);
      expect(Math.abs((out.loss as number) - golden.losses[3]) / golden.losses[3], data).toBeLessThan(1e-5);
    }
  });
});
