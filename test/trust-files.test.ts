// Hostile or damaged files (issue #10): each is refused with the project's error, fast, naming what
// is wrong — never a hang, a raw exception, or a model that loads and computes garbage.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, copyFileSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirReader } from '../src/io/node-files';
import { readModelFiles, readTensors, urlReader } from '../src/io/model-files';
import { SafetensorsFile, writeSafetensors } from '../src/formats/safetensors';
import type { TensorToWrite } from '../src/formats/safetensors';
import { singleFile } from '../src/formats/tensor-source';
import { readBnbNf4 } from '../src/formats/bnb4bit';
import { compileModulePattern } from '../src/formats/module-pattern';
import { openAdapterWeights, parseAdapterConfig, readAdapterWeights, writeAdapterWeights } from '../src/engine/peft-adapter';
import { loraLayout, initLoraParams, LORA_MODULES } from '../src/engine/lora';
import { parseModelConfig } from '../src/formats/model-config';
import { prepareBaseWeights } from '../src/engine/base-weights';
import { isTied } from '../src/io/tensor-parts';
import { summarize } from '../src/app-core/data-state';
import { QloraError } from '../src/errors';
import { zipSync } from 'fflate';
import { readAdapterFiles } from '../src/ui/adapter-files';
import { adapterFromZip } from '../src/formats/adapter-zip';
import { makeZip } from '../src/export/zip';
import { describeError } from '../src/ui/error-view';
import { FIXTURES } from './helpers/golden';

const LLAMA = `${FIXTURES}tiny-llama/`;
const BNB = `${FIXTURES}tiny-llama-bnb-nf4/`;

function modelCopy(from: string, mutate: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'qlora-trust-'));
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) copyFileSync(from + f, join(dir, f));
  mutate(dir);
  return dir;
}

/** Rewrites a safetensors file with `edit` applied to each tensor (return null to drop it). */
function rewrite(path: string, edit: (t: TensorToWrite) => TensorToWrite | null): void {
  const file = new SafetensorsFile(new Uint8Array(readFileSync(path)), path);
  const tensors: TensorToWrite[] = [];
  for (const name of file.names()) {
    const info = file.info(name);
    const t = edit({ name, dtype: info.dtype, shape: [...info.shape], data: file.bytes(name).slice() });
    if (t) tensors.push(t);
  }
  writeFileSync(path, writeSafetensors(tensors));
}

function editJson(path: string, edit: (j: Record<string, unknown>) => unknown): void {
  writeFileSync(path, JSON.stringify(edit(JSON.parse(readFileSync(path, 'utf8')))));
}

async function caught(p: Promise<unknown> | (() => unknown)): Promise<QloraError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    return e as QloraError;
  }
  throw new Error('expected a QloraError');
}

const llamaConfig = () => parseModelConfig(JSON.parse(readFileSync(LLAMA + 'config.json', 'utf8')), 'config.json');

describe('target_modules regex (linear time)', () => {
  it('a catastrophic-backtracking pattern returns at once', async () => {
    const t0 = performance.now();
    const e = await caught(() => parseAdapterConfig({ r: 4, lora_alpha: 8, target_modules: '(.*)*X' }));
    expect(e.code).toBe('CONFIG_INVALID');
    const p = compileModulePattern('(a|a)*(.*)*(.*)*X', 'test');
    expect(p.fullMatch('a'.repeat(5000))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('matches as Python re.fullmatch on the patterns PEFT users write', () => {
    const cases: [string, string, boolean][] = [
      ['.*\\.(q_proj|v_proj)', 'model.layers.3.self_attn.q_proj', true],
      ['.*\\.(q_proj|v_proj)', 'model.layers.3.self_attn.k_proj', false],
      ['model\\.layers\\.\\d+\\.self_attn\\.[qkvo]_proj', 'model.layers.12.self_attn.o_proj', true],
      ['model\\.layers\\.\\d+\\.self_attn\\.[qkvo]_proj', 'model.layers.x.self_attn.o_proj', false],
      ['.*(?:self_attn|mlp)\\..*_proj$', 'model.layers.0.mlp.up_proj', true],
      ['^.*layers\\.\\d{1,2}\\.mlp\\.(gate|up)_proj', 'model.layers.100.mlp.up_proj', false],
      ['(?P<x>.*)q_proj', 'model.layers.0.self_attn.q_proj', true],
      ['q_proj', 'model.layers.0.self_attn.q_proj', false], // fullmatch, not search
      ['[^.]+\\.[^.]+\\.[0-9]+\\..*', 'model.layers.7.mlp.down_proj', true],
      ['a{2,3}', 'aaaa', false],
      ['a{2,}', 'aaaa', true],
      ['x*?y+?', 'xxy', true],
    ];
    for (const [pattern, name, want] of cases) {
      expect(compileModulePattern(pattern, 't').fullMatch(name), `${pattern} on ${name}`).toBe(want);
      expect(new RegExp(`^(?:${pattern.replace('(?P<', '(?<')})$`).test(name), `RegExp agrees: ${pattern}`).toBe(want);
    }
  });

  it('a regex target picks the projections; unsupported syntax is refused, not guessed', async () => {
    expect(parseAdapterConfig({ r: 4, lora_alpha: 8, target_modules: '.*\\.(q_proj|v_proj)' }).settings.targets).toEqual(['q_proj', 'v_proj']);
    for (const bad of ['(?=q).*', '(a)\\1', '.*\\bq_proj', '(', 'a{5,2}', '*a', '(?i)q_proj']) {
      expect((await caught(() => parseAdapterConfig({ r: 4, target_modules: bad }))).code).toBe('CONFIG_INVALID');
    }
  });
});

describe('adapter_config.json types', () => {
  it('r: "16" is refused, not coerced', async () => {
    const e = await caught(() => parseAdapterConfig({ r: '16', lora_alpha: 32, target_modules: ['q_proj'] }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('r must be a number');
  });
  it('use_rslora: "true" is refused, not read as false', async () => {
    const e = await caught(() => parseAdapterConfig({ r: 16, lora_alpha: 32, target_modules: ['q_proj'], use_rslora: 'true' }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('use_rslora');
  });
});

describe('non-finite values are refused at load, naming the tensor', () => {
  it('NaN in an imported adapter', async () => {
    const settings = { r: 2, alpha: 4, dropout: 0, targets: LORA_MODULES, rslora: false };
    const layout = loraLayout(llamaConfig(), settings);
    const params = initLoraParams(layout, 0);
    params[layout.slots[3].aOffset + 5] = NaN;
    const file = new SafetensorsFile(writeAdapterWeights(layout, params), 'adapter_model.safetensors');
    const e = await caught(() => readAdapterWeights(file, layout));
    expect(e.code).toBe('ADAPTER_INVALID');
    expect(e.message).toContain(`layers.0.self_attn.o_proj.lora_A`);
  });

  it('NaN in a bitsandbytes nested_absmax', async () => {
    const dir = modelCopy(BNB, (d) =>
      rewrite(join(d, 'model.safetensors'), (t) => (t.name === 'model.layers.1.mlp.up_proj.weight.nested_absmax' ? { ...t, data: new Float32Array([NaN]) } : t)),
    );
    const loaded = await caught(readModelFiles(dirReader(dir)));
    expect(loaded.code).toBe('WEIGHTS_CORRUPT');
    expect(loaded.message).toContain('model.layers.1.mlp.up_proj.weight.nested_absmax');
    // The bitsandbytes reader checks on its own too (the app hands it tensors one part at a time).
    const src = singleFile(new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))), 'model.safetensors'));
    const e = await caught(() => readBnbNf4(src, 'model.layers.1.mlp.up_proj.weight'));
    expect(e.code).toBe('WEIGHTS_CORRUPT');
    expect(e.message).toContain('nested_absmax');
  });

  it('a nested_quant_map outside [-1, 1] and a null quant_state', async () => {
    const name = 'model.layers.0.self_attn.q_proj.weight';
    const dir = modelCopy(BNB, (d) =>
      rewrite(join(d, 'model.safetensors'), (t) => {
        if (t.name === `${name}.nested_quant_map`) return { ...t, data: new Float32Array(256).fill(7) };
        if (t.name === 'model.layers.0.self_attn.k_proj.weight.quant_state.bitsandbytes__nf4') return { ...t, shape: [4], data: new TextEncoder().encode('null') };
        return t;
      }),
    );
    const src = await readTensors(dirReader(dir));
    const e = await caught(() => readBnbNf4(src, name));
    expect(e.message).toContain('nested_quant_map');
    const n = await caught(() => readBnbNf4(src, 'model.layers.0.self_attn.k_proj.weight'));
    expect(n.code).toBe('WEIGHTS_CORRUPT');
    expect(n.message).toContain('quant_state');
  });

  it('Inf in a float base weight', async () => {
    const dir = modelCopy(LLAMA, (d) =>
      rewrite(join(d, 'model.safetensors'), (t) => (t.name === 'model.layers.1.input_layernorm.weight' ? { ...t, data: new Float32Array(64).fill(Infinity) } : t)),
    );
    const e = await caught(readModelFiles(dirReader(dir)));
    expect(e.code).toBe('WEIGHTS_CORRUPT');
    expect(e.message).toContain('model.layers.1.input_layernorm.weight');
  });
});

describe('model files that would load wrong', () => {
  it('tie_word_embeddings: false without lm_head is refused, not tied', async () => {
    const dir = modelCopy(LLAMA, (d) => rewrite(join(d, 'model.safetensors'), (t) => (t.name === 'lm_head.weight' ? null : t)));
    const m = await readModelFiles(dirReader(dir));
    const e = await caught(() => prepareBaseWeights(m.tensors, m.config, 'f32'));
    expect(e.code).toBe('WEIGHTS_CORRUPT');
    expect(e.message).toContain('tie_word_embeddings');
    expect((await caught(() => isTied(m.config, m.tensors.names()))).code).toBe('WEIGHTS_CORRUPT');
  });

  it('a tokenizer id past the embedding (id 700 on 512 rows) is refused', async () => {
    const dir = modelCopy(LLAMA, (d) =>
      editJson(join(d, 'tokenizer.json'), (j) => {
        (j.added_tokens as unknown[]).push({ id: 700, content: '<extra>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
        return j;
      }),
    );
    const e = await caught(readModelFiles(dirReader(dir)));
    expect(e.code).toBe('TOKENIZER_INVALID');
    expect(e.message).toContain('vocab_size is 512');
  });

  it('a not-JSON tokenizer_config.json or shard index is the project error', async () => {
    const a = await caught(readModelFiles(dirReader(modelCopy(LLAMA, (d) => writeFileSync(join(d, 'tokenizer_config.json'), '{"bos_token": ')))));
    expect(a.code).toBe('TOKENIZER_INVALID');
    expect(a.message).toContain('tokenizer_config.json');
    const dir = modelCopy(LLAMA, (d) => {
      writeFileSync(join(d, 'model.safetensors'), '');
      writeFileSync(join(d, 'model.safetensors.index.json'), 'not json');
    });
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'model.safetensors'));
    const b = await caught(readModelFiles(dirReader(dir)));
    expect(b.code).toBe('WEIGHTS_CORRUPT');
    expect(b.message).toContain('model.safetensors.index.json');
  });
});

describe('the CLI URL reader', () => {
  let server: Server;
  let base = '';
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      seen.push(url);
      if (url.startsWith('/stall/')) {
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"a":');
        return; // never finishes
      }
      if (url.startsWith('/short/')) {
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"a":1}', () => res.destroy()); // 7 of 100 bytes, then the connection closes
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });

  it('encodes path segments: a name decoded from %2e%2e/ stays inside the folder', async () => {
    expect(await urlReader(base + 'model/').read('%2e%2e/secret.safetensors')).toBeNull();
    expect(seen).toContain('/model/%252e%252e/secret.safetensors');
  });

  it('a stalled body times out with a NETWORK error', async () => {
    const e = await caught(urlReader(base + 'stall/', { stallTimeoutMs: 200, retries: 1, retryDelayMs: 10 }).read('config.json'));
    expect(e.code).toBe('NETWORK');
  });

  it('fewer bytes than Content-Length is a NETWORK error', async () => {
    const e = await caught(urlReader(base + 'short/', { retries: 1, retryDelayMs: 10 }).read('config.json'));
    expect(e.code).toBe('NETWORK');
    expect(e.message).toContain('config.json');
  });
});

describe('large datasets', () => {
  it('the data summary of 300,000 examples does not overflow the stack', () => {
    const examples = Array.from({ length: 300_000 }, (_, i) => ({ inputIds: [1, 2, 3 + (i % 5)], labels: [1, 2, 3], recordIndex: i }));
    const d = { fileName: 'x.jsonl', prepared: { format: 'text', records: examples, examples, lineErrors: [], recordErrors: [] }, train: examples, val: [] };
    const s = summarize(d as unknown as Parameters<typeof summarize>[0], { decode: () => 'x' } as unknown as Parameters<typeof summarize>[1]);
    expect(s.maxTokens).toBe(3);
  });
});

describe('adapter zips', () => {
  const cfg = new TextEncoder().encode('{"r": 4}');
  /** A valid safetensors file (the reader checks the weights' header as soon as it inflates). */
  const weights = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [16], data: new Uint8Array(64).fill(1) }]);

  /** Sets the uncompressed size the central directory declares for entry `name`. */
  function declareSize(zip: Uint8Array, name: string, size: number): Uint8Array {
    const out = zip.slice();
    const view = new DataView(out.buffer);
    for (let i = 0; i + 46 < out.length; i++) {
      if (view.getUint32(i, true) !== 0x02014b50) continue;
      const n = view.getUint16(i + 28, true);
      if (new TextDecoder().decode(out.subarray(i + 46, i + 46 + n)) === name) view.setUint32(i + 24, size, true);
    }
    return out;
  }

  /** A real adapter for tiny-llama, zipped as the page's export zips it (weights stored, config deflated). */
  function adapterZip(): { zip: Uint8Array; layout: ReturnType<typeof loraLayout>; params: Float32Array; weightsBytes: Uint8Array } {
    const settings = { r: 2, alpha: 4, dropout: 0, targets: LORA_MODULES, rslora: false };
    const layout = loraLayout(llamaConfig(), settings);
    const params = initLoraParams(layout, 0);
    const weightsBytes = writeAdapterWeights(layout, params);
    const config = JSON.stringify({ r: 2, lora_alpha: 4, target_modules: [...LORA_MODULES], peft_type: 'LORA' });
    return { zip: makeZip({ 'my-adapter/adapter_config.json': new TextEncoder().encode(config), 'my-adapter/adapter_model.safetensors': weightsBytes }), layout, params, weightsBytes };
  }

  it('a zip declaring a 1 GiB entry is refused before inflating', async () => {
    const zip = declareSize(zipSync({ 'adapter_config.json': cfg, 'adapter_model.safetensors': weights }), 'adapter_model.safetensors', 2 ** 31 + 1);
    const t0 = performance.now();
    const e = await caught(() => adapterFromZip(zip, 'bomb.zip'));
    expect(e.code).toBe('ADAPTER_INVALID');
    expect(e.message).toContain('inflate');
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('an entry named __proto__ is skipped unread', () => {
    const zip = zipSync({ __proto__: new Uint8Array(8), 'adapter_config.json': cfg, 'adapter_model.safetensors': weights } as Record<string, Uint8Array>);
    const entries = adapterFromZip(zip, 'a.zip');
    expect([...entries.keys()].sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(entries.get('adapter_model.safetensors')).toEqual(weights);
  });

  it('two adapters in one zip are refused, not mixed', async () => {
    const zip = zipSync({ 'a/adapter_config.json': cfg, 'a/adapter_model.safetensors': weights, 'b/adapter_config.json': cfg, 'b/adapter_model.safetensors': weights });
    const e = await caught(() => adapterFromZip(zip, 'two.zip'));
    expect(e.message).toContain('more than one adapter');
    const files = [new File([zip.slice()], 'two.zip')];
    expect((await caught(readAdapterFiles(files, adapterFromZip))).code).toBe('ADAPTER_INVALID');
  });

  it('the page import path reads an exported adapter zip back exactly', async () => {
    const { zip, layout, params } = adapterZip();
    const files = await readAdapterFiles([new File([zip.slice()], 'my-adapter.zip')], adapterFromZip);
    expect(readAdapterWeights(openAdapterWeights(files.weights), layout)).toEqual(params);
  });

  it('one flipped byte is refused by its CRC-32, naming the zip and the entry (issue 20, item 2)', async () => {
    const { zip, weightsBytes } = adapterZip();
    // The exponent byte of a weight in the stored (uncompressed) weights: -0.05 would read as ~-1e37.
    const headerLength = Number(new DataView(weightsBytes.buffer).getBigUint64(0, true));
    const inZip = zip.indexOf(weightsBytes[8 + headerLength + 100], 0);
    expect(inZip).toBeGreaterThan(0);
    const at = indexOfBytes(zip, weightsBytes.subarray(8 + headerLength, 8 + headerLength + 64)) + 3;
    const broken = zip.slice();
    broken[at] ^= 0x3e;
    const e = await caught(readAdapterFiles([new File([broken], 'my-adapter.zip')], adapterFromZip));
    expect(e.code).toBe('ADAPTER_INVALID');
    expect(e.message).toContain('"my-adapter/adapter_model.safetensors" in my-adapter.zip is damaged');
    expect(e.message).toContain('CRC-32');
    // A flipped byte in the deflated config is refused too (by its CRC or its deflate stream).
    const cfgAt = indexOfBytes(zip, new TextEncoder().encode('adapter_config.json')) + 40;
    const brokenConfig = zip.slice();
    brokenConfig[cfgAt] ^= 0x01;
    expect((await caught(() => adapterFromZip(brokenConfig, 'c.zip'))).code).toBe('ADAPTER_INVALID');
  });

  it('a weight of -1.85e37 (finite) is refused at import, as the divergence check does', async () => {
    const settings = { r: 2, alpha: 4, dropout: 0, targets: LORA_MODULES, rslora: false };
    const layout = loraLayout(llamaConfig(), settings);
    const params = initLoraParams(layout, 0);
    params[layout.slots[1].aOffset + 7] = -1.85e37;
    const e = await caught(() => readAdapterWeights(openAdapterWeights(writeAdapterWeights(layout, params)), layout));
    expect(e.code).toBe('ADAPTER_INVALID');
    expect(e.message).toContain('layers.0.self_attn.k_proj.lora_A');
    expect(e.message).toMatch(/-1\.8\d*e\+37/);
  });

  it('a damaged adapter file points at the adapter, never at the cached model (issue 20, item 8)', async () => {
    const { weightsBytes, layout } = adapterZip();
    for (const bytes of [weightsBytes.subarray(0, weightsBytes.length - 10), writeSafetensors([{ name: 'other', dtype: 'F32', shape: [1], data: new Uint8Array(4) }])]) {
      const e = await caught(() => readAdapterWeights(openAdapterWeights(bytes), layout));
      expect(e.code).toBe('ADAPTER_INVALID');
      expect(e.message).toContain('adapter_model.safetensors');
      expect(e.message).not.toMatch(/download it again\.$/);
      const view = describeError(e);
      expect(view.actions.map((a) => a.action)).not.toContain('open-storage');
      expect(JSON.stringify(view.advice)).not.toMatch(/cached|Storage panel/);
      expect(JSON.stringify(view.advice)).toContain('export or download the adapter again');
    }
  });

  it('an entry that inflates past its declared size stops there, the cap in the message (issue 20, item 6)', async () => {
    // A lying directory: the entry is a valid 100,088-byte safetensors file followed by 8 MiB more, and
    // the directory declares the 100,088 (so the header check passes and only the running cap stops it).
    const real = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [25_000], data: new Uint8Array(100_000) }]);
    const inflated = new Uint8Array(real.length + (8 << 20));
    inflated.set(real);
    const zip = declareSize(zipSync({ 'adapter_config.json': cfg, 'adapter_model.safetensors': [inflated, { level: 1 }] }), 'adapter_model.safetensors', real.length);
    const e = await caught(() => adapterFromZip(zip, 'liar.zip'));
    expect(e.code).toBe('ADAPTER_INVALID');
    expect(e.message).toContain(`"adapter_model.safetensors" in liar.zip is damaged: it inflates to more than the ${real.length.toLocaleString('en')} bytes the zip declares (stopped there)`);
  });

  it('a zip bomb of zeros is refused by its first bytes (the safetensors header), not after inflating it all', async () => {
    const zip = zipSync({ 'adapter_config.json': cfg, 'adapter_model.safetensors': [new Uint8Array(8 << 20), { level: 1 }] });
    expect(zip.length).toBeLessThan(1 << 20);
    const e = await caught(() => adapterFromZip(zip, 'zeros.zip'));
    expect(e.code).toBe('ADAPTER_INVALID');
    expect(e.message).toContain('"adapter_model.safetensors" in zeros.zip');
    expect(e.message).toContain('header');
    expect(e.message).not.toContain('CRC');
    expect(e.message).toContain('export or download the adapter again');
  });
});

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let k = 0; k < needle.length; k++) if (haystack[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}
