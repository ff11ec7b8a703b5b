// Dataset files in other encodings (issue 20, item 3): UTF-16 with a byte-order mark reads as its UTF-8
// twin through the CLI's reader, the page's file reader and a URL; UTF-16 without a BOM, Latin-1 and
// NUL bytes are refused with the encoding named and the fix, never trained on as garbage.
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDataset } from '../src/io/node-files';
import { readDatasetFile } from '../src/io/blob-buffer';
import { fetchDatasetText } from '../src/io/dataset-source';
import { decodeDatasetBytes } from '../src/data/text-encoding';
import { parseDatasetText } from '../src/data/dataset-text';
import { QloraError } from '../src/errors';

const TWINS: Record<string, string> = {
  'data.txt': 'Première ligne — café 😀\nsame document\n\nSecond document: naïve 東京\n',
  'data.jsonl': '{"instruction":"Say ¡hola!","output":"¡Hola! 😀"}\n{"instruction":"Capital of 日本?","output":"東京"}\n',
  'data.csv': 'instruction,output\n"Say ""é""",é\nCapital of France?,Paris — 🗼\n',
};

function utf16(text: string, bigEndian: boolean, bom = true): Uint8Array<ArrayBuffer> {
  const units = (bom ? '\ufeff' : '') + text;
  const out = new Uint8Array(units.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < units.length; i++) view.setUint16(i * 2, units.charCodeAt(i), !bigEndian);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'qlora-encoding-'));
function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function refusal(f: () => unknown): QloraError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    return e as QloraError;
  }
  throw new Error('expected a QloraError');
}

async function refusalOf(p: Promise<unknown>): Promise<QloraError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    return e as QloraError;
  }
  throw new Error('expected a QloraError');
}

describe('dataset encodings', () => {
  let server: Server;
  let base = '';
  const served = new Map<string, Uint8Array>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      res.writeHead(body ? 200 : 404).end(body ?? '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  for (const [name, text] of Object.entries(TWINS)) {
    for (const bigEndian of [false, true]) {
      const label = bigEndian ? 'BE' : 'LE';
      it(`UTF-16 ${label} ${name} with a BOM reads as its UTF-8 twin (CLI, page, URL)`, async () => {
        const bytes = utf16(text, bigEndian);
        const want = parseDatasetText(text, name);
        expect(want.errors).toEqual([]);
        expect(want.records.length).toBe(2);

        const cli = await readDataset(file(`${label}-${name}`, bytes));
        expect(cli.text).toBe(text);
        expect(parseDatasetText(cli.text, name)).toEqual(want);

        expect(await readDatasetFile(new Blob([bytes]), name)).toBe(text);

        served.set(`/${label}/${name}`, bytes);
        expect((await fetchDatasetText(`${base}/${label}/${name}`)).text).toBe(text);
      });
    }
  }

  it('a UTF-8 BOM is dropped, and UTF-8 is read as it is', () => {
    const text = TWINS['data.jsonl'];
    const plain = new TextEncoder().encode(text);
    expect(decodeDatasetBytes(plain, 'a.jsonl')).toEqual({ text, encoding: 'UTF-8' });
    expect(decodeDatasetBytes(new Uint8Array([0xef, 0xbb, 0xbf, ...plain]), 'a.jsonl')).toEqual({ text, encoding: 'UTF-8' });
  });

  it('UTF-16 without a BOM is refused, named by its NUL pattern', async () => {
    for (const [bigEndian, name] of [[false, 'UTF-16 LE'], [true, 'UTF-16 BE']] as const) {
      const e = await refusalOf(readDataset(file(`nobom-${bigEndian}.txt`, utf16(TWINS['data.txt'], bigEndian, false))));
      expect(e.code).toBe('DATASET_INVALID');
      expect(e.message).toContain(name);
      expect(e.message).toContain('without a byte-order mark');
      expect(e.message).toContain('Save it as UTF-8');
    }
  });

  it('Latin-1 is refused with the byte, its line and the likely encoding', async () => {
    const latin1 = Uint8Array.from('{"a":"x"}\n{"instruction":"caf\u00e9","output":"ok"}\n', (c) => c.charCodeAt(0));
    const e = await refusalOf(readDatasetFile(new Blob([latin1]), 'latin.jsonl'));
    expect(e.code).toBe('DATASET_INVALID');
    expect(e.message).toMatch(/byte 0xE9 at line 2 .*Latin-1/);
    expect(e.message).toContain('Save it as UTF-8');
  });

  it('UTF-32 and a NUL byte are refused', () => {
    expect(refusal(() => decodeDatasetBytes(new Uint8Array([0xff, 0xfe, 0, 0, 0x41, 0, 0, 0]), 'a.txt')).message).toContain('UTF-32');
    const e = refusal(() => decodeDatasetBytes(new TextEncoder().encode('line one\nbinary\0here\n'), 'a.txt'));
    expect(e.message).toContain('NUL character at line 2');
    expect(e.details).toMatchObject({ lineErrors: [{ line: 2 }] });
  });
});
