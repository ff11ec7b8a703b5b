// Bounded property-based fuzzing of every parser that reads a file a stranger could hand us
// (issue #10): safetensors (the whole-file reader and the streaming one), shard indexes, config.json,
// adapter_config.json (target_modules regexes included), tokenizer_config.json, datasets (their bytes
// in any encoding too) and adapter zips. The one
// property: each either accepts its input or throws the project's QloraError — any other exception
// (TypeError, RangeError, SyntaxError) fails, and so does a case that runs for seconds. Seeded, so a
// failure names its seed and shrunk counterexample and reruns the same way.
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { isQloraError } from '../src/errors';
import { SafetensorsFile, writeSafetensors, parseShardIndex } from '../src/formats/safetensors';
import { SafetensorsStreamParser } from '../src/io/stream-safetensors';
import { parseModelConfig } from '../src/formats/model-config';
import { parseAdapterConfig } from '../src/engine/peft-adapter';
import { compileModulePattern } from '../src/formats/module-pattern';
import { createTokenizer } from '../src/data/tokenizer';
import { readTensors, readTokenizer } from '../src/io/model-files';
import { parseDatasetText } from '../src/data/dataset-text';
import { checkDataset, prepareDataset } from '../src/data/dataset';
import { FIXTURES } from './helpers/golden';
import { makeZip } from '../src/export/zip';
import { adapterFromZip } from '../src/formats/adapter-zip';
import { decodeDatasetBytes } from '../src/data/text-encoding';

const SEED = 1010; // issue #10
const SLOW_MS = 2000; // one input taking this long is a hang in the making

/** Runs `f`; only QloraError may escape, and not slowly. */
async function onlyOurErrors(f: () => unknown): Promise<void> {
  const t0 = performance.now();
  try {
    await f();
  } catch (e) {
    if (!isQloraError(e)) throw e;
  }
  const ms = performance.now() - t0;
  if (ms > SLOW_MS) throw new Error(`one input took ${ms.toFixed(0)} ms`);
}

const assertProperty = (arb: fc.Arbitrary<unknown>, f: (v: never) => unknown, numRuns: number) =>
  fc.assert(fc.asyncProperty(arb, (v) => onlyOurErrors(() => f(v as never))), { seed: SEED, numRuns, endOnFailure: true });

// A small valid safetensors file to mutate: several dtypes, an empty tensor, metadata.
const SMALL = writeSafetensors([
  { name: 'a.weight', dtype: 'F32', shape: [3, 4], data: new Float32Array(12).fill(0.5) },
  { name: 'b', dtype: 'BF16', shape: [5], data: new Uint16Array(5).fill(0x3f80) },
  { name: 'c.codes', dtype: 'U8', shape: [7], data: new Uint8Array(7).fill(3) },
  { name: 'empty', dtype: 'F16', shape: [0, 3], data: new Uint16Array(0) },
]);
const headerLength = Number(new DataView(SMALL.buffer).getBigUint64(0, true));
const HEADER = JSON.parse(new TextDecoder().decode(SMALL.subarray(8, 8 + headerLength)));

/** Byte-level mutations: flips, overwrites, truncation, splices. */
const mutatedBytes = (base: Uint8Array) =>
  fc
    .array(
      fc.oneof(
        fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((ops) => {
      let b = base.slice();
      for (const op of ops) {
        const at = b.length ? op.at % (b.length + 1) : 0;
        if (op.kind === 'set' && at < b.length) b[at] = op.value;
        else if (op.kind === 'cut') b = b.slice(0, at);
        else if (op.kind === 'insert') b = new Uint8Array([...b.subarray(0, at), ...op.bytes, ...b.subarray(at)]);
      }
      return b;
    });

/** A value that is anything JSON can hold, biased towards the shapes the parsers look at. */
const jsonish = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1, 1.5, 2 ** 53, -(2 ** 31), 1e308, '', '16', 'true', 'NaN', [], {}),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Replaces, deletes or adds fields of a valid JSON object. */
const mutatedObject = (base: Record<string, unknown>, extraKeys: string[] = []) =>
  fc
    .array(fc.tuple(fc.constantFrom(...Object.keys(base), ...extraKeys, '__proto__', 'constructor'), fc.option(jsonish, { nil: undefined })), { minLength: 1, maxLength: 5 })
    .map((edits) => {
      const o: Record<string, unknown> = JSON.parse(JSON.stringify(base));
      for (const [k, v] of edits) {
        if (v === undefined) delete o[k];
        else Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
      }
      return JSON.parse(JSON.stringify(o)); // as JSON.parse would hand it over (own "__proto__" keys included)
    });

/** Header JSON with values swapped for hostile ones (offsets, shapes, dtypes, names). */
const mutatedHeader = fc
  .array(
    fc.tuple(
      fc.constantFrom('a.weight', 'b', 'c.codes', 'empty', '__metadata__', '__proto__', 'x'),
      fc.constantFrom('dtype', 'shape', 'data_offsets', 'whole'),
      jsonish,
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((edits) => {
    const h = JSON.parse(JSON.stringify(HEADER));
    for (const [name, field, value] of edits) {
      // Own properties only: h["__proto__"].dtype = … would write to Object.prototype and poison every
      // later test (fflate's zipSync walks inherited keys); a "__proto__" key is defined as a field.
      const own = Object.prototype.hasOwnProperty.call(h, name);
      if (field === 'whole' || !own || typeof h[name] !== 'object' || h[name] === null) Object.defineProperty(h, name, { value, enumerable: true, writable: true, configurable: true });
      else h[name][field] = value;
    }
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + (SMALL.length - 8 - headerLength));
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(SMALL.subarray(8 + headerLength), 8 + json.length);
    return out;
  });

const safetensorsInputs = fc.oneof(mutatedBytes(SMALL), mutatedHeader, fc.uint8Array({ maxLength: 64 }));

async function readWhole(bytes: Uint8Array): Promise<void> {
  const f = new SafetensorsFile(bytes, 'fuzz.safetensors');
  for (const n of f.names()) {
    const { dtype } = f.info(n);
    if (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64') f.float32(n);
    else f.bytes(n);
  }
}

async function readStreamed(bytes: Uint8Array, chunk: number, declaredSize: boolean): Promise<void> {
  const p = new SafetensorsStreamParser('fuzz.safetensors', declaredSize ? bytes.length : null, () => undefined);
  for (let at = 0; at < bytes.length; at += chunk) await p.push(bytes.subarray(at, at + chunk));
  p.end();
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const LLAMA_CONFIG = readJson(`${FIXTURES}tiny-llama/config.json`);
const QWEN_CONFIG = readJson(`${FIXTURES}tiny-qwen2/config.json`);
const TOKENIZER_JSON = readJson(`${FIXTURES}tiny-llama/tokenizer.json`);
const TOKENIZER_CONFIG = readJson(`${FIXTURES}tiny-llama/tokenizer_config.json`);
const ADAPTER_CONFIG = readJson(`${FIXTURES}golden/tiny-llama/qlora/adapter_init/adapter_config.json`);
const TOKENIZER = createTokenizer(TOKENIZER_JSON, TOKENIZER_CONFIG);

/** Regex-like strings: the characters regex syntax is made of, so the parser sees its edge cases. */
const regexish = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'()[]{}|*+?.^$\\-:,=!<>P0123456789adswDSWbq_proj.'.split('')), maxLength: 24 }),
  fc.constantFrom('(.*)*X', '(a+)+$', '(?:.*\\.)?(q|v)_proj', '.*\\.(q_proj|k_proj)', '[', '(?P<n>x)', 'a{2,1}', 'a{99999}', '\\'),
);

describe('fuzzing the parsers: only QloraError, never a hang', { timeout: 120_000 }, () => {
  it('safetensors, whole-file reader', () => assertProperty(safetensorsInputs, readWhole, 10_000));

  it('safetensors, streaming reader (any chunking, size known or not)', () =>
    assertProperty(fc.tuple(safetensorsInputs, fc.integer({ min: 1, max: 97 }), fc.boolean()), ([b, chunk, sized]: [Uint8Array, number, boolean]) => readStreamed(b, chunk, sized), 5000));

  it('model.safetensors.index.json', () =>
    assertProperty(
      fc.oneof(
        jsonish,
        fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.constantFrom('model-00001.safetensors', '../x.safetensors', '%2e%2e/a.safetensors', '/abs.safetensors', 'C:x.safetensors', 'a//b.safetensors'), jsonish)).map((m) => ({ weight_map: m })),
      ),
      (j: unknown) => parseShardIndex(j, 'fuzz.index.json'),
      5000,
    ));

  it('config.json', () =>
    assertProperty(
      fc.oneof(jsonish, mutatedObject(LLAMA_CONFIG, ['rope_scaling', 'head_dim', 'rope_parameters']), mutatedObject(QWEN_CONFIG, ['rope_scaling'])),
      (j: unknown) => parseModelConfig(j, 'config.json'),
      5000,
    ));

  it('adapter_config.json (target_modules regexes included)', () =>
    assertProperty(
      fc.oneof(
        jsonish,
        mutatedObject(ADAPTER_CONFIG, ['use_rslora', 'use_dora', 'rank_pattern']),
        regexish.map((t) => ({ ...ADAPTER_CONFIG, target_modules: t })),
      ),
      (j: unknown) => parseAdapterConfig(j, 'adapter_config.json'),
      5000,
    ));

  it('module regexes agree with RegExp where both accept (and never backtrack)', () =>
    fc.assert(
      fc.property(regexish, fc.string({ unit: fc.constantFrom(...'aqvkos_proj.0123456789X'.split('')), maxLength: 30 }), (pattern, name) => {
        let ours: boolean;
        try {
          ours = compileModulePattern(pattern, 'fuzz').fullMatch(name);
        } catch (e) {
          if (!isQloraError(e)) throw e;
          return;
        }
        let re: RegExp;
        try {
          re = new RegExp(`^(?:${pattern.replace(/\(\?P</g, '(?<')})$`, 'u');
        } catch {
          return; // JS refuses what Python accepts in a few corners ("{" literals under the u flag)
        }
        if (name.length <= 12 && re.test(name) !== ours) throw new Error(`"${pattern}" on "${name}": RegExp ${!ours}, ours ${ours}`);
      }),
      { seed: SEED, numRuns: 20_000 },
    ));

  it('tokenizer_config.json, from its text', () => {
    const enc = new TextEncoder();
    const config = fc.oneof(jsonish, mutatedObject(TOKENIZER_CONFIG, ['chat_template', 'add_bos_token', 'add_eos_token', 'pad_token', 'unk_token'])).map((j) => JSON.stringify(j));
    const text = fc.oneof(config, fc.tuple(config, fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))));
    const tokenizerText = JSON.stringify(TOKENIZER_JSON);
    return assertProperty(
      text,
      async (t: string) => {
        const files = { location: 'fuzz/', read: async (n: string) => (n === 'tokenizer.json' ? enc.encode(tokenizerText) : n === 'tokenizer_config.json' ? enc.encode(t) : null) };
        const tok = await readTokenizer(files);
        if (tok.chatTemplate !== null) tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
      },
      1000,
    );
  });

  it('model.safetensors.index.json, from its text', () => {
    const enc = new TextEncoder();
    const index = JSON.stringify({ metadata: { total_size: 1 }, weight_map: { 'a.weight': 'model-00001-of-00001.safetensors' } });
    const text = fc.oneof(fc.nat().map((n) => index.slice(0, n % (index.length + 1))), fc.string({ maxLength: 40 }));
    return assertProperty(
      text,
      (t: string) => readTensors({ location: 'fuzz/', read: async (n: string) => (n === 'model.safetensors.index.json' ? enc.encode(t) : n.endsWith('.safetensors') && n !== 'model.safetensors' ? SMALL : null) }),
      1000,
    );
  });

  it('dataset files (JSON, JSONL, CSV) and their records', () => {
    const record = fc.oneof(
      jsonish,
      fc.record({ instruction: jsonish, input: fc.option(jsonish), output: jsonish }, { requiredKeys: [] }),
      fc.record({ messages: fc.oneof(jsonish, fc.array(fc.record({ role: fc.constantFrom('user', 'assistant', 'system', 'x', 7), content: jsonish }), { maxLength: 4 })) }),
      fc.record({ prompt: jsonish, completion: jsonish }),
      fc.record({ text: fc.oneof(jsonish, fc.string({ maxLength: 200 })) }),
    );
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(record, { maxLength: 6 }).map((rs) => JSON.stringify(rs)),
      fc.array(record, { maxLength: 6 }).map((rs) => rs.map((r) => JSON.stringify(r)).join('\n')),
      fc.array(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', ' ', '\r'), maxLength: 8 }), { maxLength: 4 }), { maxLength: 5 }).map((rows) => ['instruction,output', ...rows.map((r) => r.join(','))].join('\n')),
    );
    const name = fc.constantFrom('d.json', 'd.jsonl', 'd.csv', 'd.txt');
    const opts = fc.record({
      format: fc.constantFrom(undefined, 'alpaca', 'chat', 'completion', 'text'),
      limit: fc.constantFrom(undefined, -1, 0, 1, 2.5, 3),
      maxLength: fc.constantFrom(undefined, 1, 2, 16, 0.5),
      onInvalid: fc.constantFrom('stop', 'skip'),
      columns: fc.constantFrom(undefined, {}, { instruction: 'output', output: 'instruction' }, { text: 'instruction', messages: 'text' }),
    }, { requiredKeys: [] });
    return assertProperty(
      fc.tuple(text, name, opts),
      ([t, n, o]: [string, string, Record<string, unknown>]) => {
        parseDatasetText(t, n);
        prepareDataset(t, n, TOKENIZER, o as Parameters<typeof prepareDataset>[3]);
        checkDataset(t, n, o as Parameters<typeof checkDataset>[2]);
      },
      3000,
    );
  });

  it('adapter zips (central directory, entries, CRC-32, the weights header)', () => {
    const zip = makeZip({ 'a/adapter_config.json': new TextEncoder().encode('{"r": 2, "target_modules": ["q_proj"]}'), 'a/adapter_model.safetensors': SMALL });
    return assertProperty(mutatedBytes(zip), (b: Uint8Array) => adapterFromZip(b, 'fuzz.zip'), 3000);
  });

  it('dataset bytes in any encoding', () =>
    assertProperty(
      fc.oneof(fc.uint8Array({ maxLength: 64 }), mutatedBytes(new Uint8Array([0xff, 0xfe, 0x7b, 0, 0x7d, 0])), mutatedBytes(new TextEncoder().encode('{"instruction":"é😀","output":"x"}'))),
      (b: Uint8Array) => decodeDatasetBytes(b, 'fuzz.jsonl'),
      3000,
    ));
});
