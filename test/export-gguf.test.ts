// The GGUF LoRA adapter (src/export/gguf-adapter.ts) read back by two independent readers:
// @huggingface/gguf (every metadata key with its type, every tensor's name, ne, dtype and bytes) and
// gguf-py, llama.cpp's own reader, in the test's venv. The Python side derives what the file must hold
// from the PEFT safetensors with gguf-py's tensor-name map and convert_hf_to_gguf.py's LlamaModel.permute
// formula, so names, shapes and the q/k row order are checked against llama.cpp's code, not ours.
// Also the `qlora export-gguf` command on a PEFT folder.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf, GGUFValueType } from '@huggingface/gguf';
import { parseModelConfig } from '../src/formats/model-config';
import type { ModelConfig } from '../src/formats/model-config';
import { LORA_MODULES, loraLayout } from '../src/engine/lora';
import type { LoraLayout } from '../src/engine/lora';
import { slotTensors } from '../src/engine/peft-adapter';
import { adapterFiles } from '../src/export/adapter-bundle';
import { ggufAdapterTensors, ggufLoraAdapter, ggufTensorName, permuteRopeRows } from '../src/export/gguf-adapter';
import { isGatedDeltaNetProjection, linearAttentionGgufPair } from '../src/export/gguf-linear-attention';
import { writeGguf } from '../src/formats/gguf-write';
import { createRng } from '../src/data/rng';
import { runCli, jsonLines } from './helpers/cli';
import { pythonWith, reportSkip } from './helpers/python-env';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
/** The test's own statement of llama.cpp's names (gguf-py MODEL_ARCH_NAMES), not the module's table. */
const CASES = [
  { fixture: 'tiny-llama', arch: 'llama' },
  { fixture: 'tiny-qwen2', arch: 'qwen2' },
  { fixture: 'tiny-qwen3', arch: 'qwen3' },
  { fixture: 'tiny-gemma3', arch: 'gemma3' },
  { fixture: 'tiny-qwen3_5', arch: 'qwen35' }, // 2 key heads over 4 value heads: the value-head reorder is not the identity
] as const;

function fixtureConfig(name: string): ModelConfig {
  return parseModelConfig(JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8')));
}

function randomAdapter(config: ModelConfig, rslora: boolean, seed: number): { layout: LoraLayout; params: Float32Array } {
  // r = 3: odd, so no shape is square by accident and a transposed A or B could not pass.
  const layout = loraLayout(config, { r: 3, alpha: 7, dropout: 0, targets: LORA_MODULES, rslora });
  const rng = createRng(seed);
  const params = new Float32Array(layout.totalFloats);
  for (let i = 0; i < params.length; i++) params[i] = rng.nextFloat() * 2 - 1;
  return { layout, params };
}

describe('permuteRopeRows (LlamaModel.permute on lora_b rows)', () => {
  it('interleaves the two halves of each head', () => {
    // 2 heads × headDim 4, r = 1: rows 0..7 → per head [0, 2, 1, 3]
    const B = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...permuteRopeRows(B, 2, 1)]).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    // r = 2 moves whole rows: row k = [10k, 10k + 1]
    const B2 = Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]);
    expect([...permuteRopeRows(B2, 1, 2)]).toEqual([0, 1, 20, 21, 10, 11, 30, 31]);
    expect(() => permuteRopeRows(new Float32Array(6), 2, 1)).toThrow(/even/); // 2 heads of 3 rows
  });
});

describe('writeGguf', () => {
  it('refuses a duplicate key or data that does not fit the shape', () => {
    expect(() => writeGguf([['a', { type: 'uint32', value: 1 }], ['a', { type: 'uint32', value: 2 }]], [])).toThrow(/twice/);
    expect(() => writeGguf([], [{ name: 't', shape: [2, 3], data: new Float32Array(5) }])).toThrow(/holds 6 values/);
  });
});

describe('GGUF LoRA adapter read back with @huggingface/gguf', () => {
  for (const { fixture, arch } of CASES) {
    it(`${fixture}: metadata, tensor names, ne, F32 and every value`, async () => {
      const config = fixtureConfig(fixture);
      const { layout, params } = randomAdapter(config, false, 1);
      const bytes = ggufLoraAdapter({ layout, params, config, name: `test/${fixture}` });
      const dir = mkdtempSync(join(tmpdir(), 'gguf-'));
      const file = join(dir, 'adapter.gguf');
      writeFileSync(file, bytes);
      const parsed = await gguf(file, { allowLocalFile: true, typedMetadata: true });
      const md = parsed.typedMetadata as unknown as Record<string, { value: unknown; type: GGUFValueType }>;
      expect(md.version.value).toBe(3);
      const kv = Object.fromEntries(Object.entries(md).filter(([k]) => !['version', 'tensor_count', 'kv_count'].includes(k)));
      expect(kv).toEqual({
        'general.architecture': { value: arch, type: GGUFValueType.STRING },
        'general.name': { value: `test/${fixture}`, type: GGUFValueType.STRING },
        'general.type': { value: 'adapter', type: GGUFValueType.STRING },
        'adapter.type': { value: 'lora', type: GGUFValueType.STRING },
        'adapter.lora.alpha': { value: 7, type: GGUFValueType.FLOAT32 },
        'general.quantization_version': { value: 2, type: GGUFValueType.UINT32 },
      });
      expect(parsed.tensorInfos.length).toBe(2 * layout.slots.length);
      expect(Number(parsed.tensorDataOffset) % 32).toBe(0);
      const permute = arch === 'llama';
      const infos = new Map(parsed.tensorInfos.map((t) => [t.name, t]));
      for (const slot of layout.slots) {
        const { A, B } = slotTensors(layout, params, slot);
        const heads = slot.module === 'q_proj' ? config.numHeads : config.numKvHeads;
        // The linear layers' value-head order is checked against llama.cpp's converter by gguf-linear-attention.test.ts
        // and, on this file, by gguf-py below; here: that the file holds what the module computes.
        const lin = isGatedDeltaNetProjection(slot.module) ? linearAttentionGgufPair(slot.module, A, B, 3, config.linearAttention!) : { A, B };
        const wantB = permute && (slot.module === 'q_proj' || slot.module === 'k_proj') ? permuteRopeRows(B, heads, 3) : lin.B;
        for (const [which, want, ne] of [['a', lin.A, [slot.inF, 3]], ['b', wantB, [3, slot.outF]]] as const) {
          const name = ggufTensorName(slot, which);
          const info = infos.get(name);
          expect(info, name).toBeDefined();
          expect(info!.shape.map(Number), name).toEqual(ne);
          expect(info!.dtype, name).toBe(0); // GGML_TYPE_F32
          expect(Number(info!.offset) % 32, name).toBe(0);
          const start = Number(parsed.tensorDataOffset + info!.offset);
          const got = new Float32Array(bytes.slice(start, start + want.byteLength).buffer);
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)), `${name} values`).toBe(true);
        }
      }
      expect(ggufTensorName({ layer: 1, module: 'o_proj' }, 'a')).toBe('blk.1.attn_output.weight.lora_a');
    });
  }

  it('rsLoRA: adapter.lora.alpha is scale × r, so llama.cpp (alpha / r) applies alpha / √r', async () => {
    const config = fixtureConfig('tiny-qwen2');
    const { layout, params } = randomAdapter(config, true, 2);
    const dir = mkdtempSync(join(tmpdir(), 'gguf-'));
    writeFileSync(join(dir, 'a.gguf'), ggufLoraAdapter({ layout, params, config, name: 'x' }));
    const parsed = await gguf(join(dir, 'a.gguf'), { allowLocalFile: true });
    const alpha = (parsed.metadata as unknown as Record<string, number>)['adapter.lora.alpha'];
    expect(alpha).toBeCloseTo(7 * Math.sqrt(3), 5); // stored as f32
    expect(alpha / 3).toBeCloseTo(7 / Math.sqrt(3), 5);
  });
});

const py = pythonWith([{ pip: 'gguf', module: 'gguf' }]);
reportSkip('the gguf-py (llama.cpp) read-back', py);

// Reads the GGUF with gguf-py's GGUFReader; derives every expected tensor from the PEFT safetensors
// through gguf-py's own tensor-name map and convert_hf_to_gguf.py's permute; prints what differs.
const GGUF_PY_CHECK = String.raw`
import json, sys
import numpy as np
import gguf
gguf_path, peft_path, arch_name, n_head, n_kv_head, n_layers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
la = json.loads(sys.argv[7])  # the linear-attention settings, or null

def reorder_v(w, axis, nk, nv, width):  # convert_hf_to_gguf.py _LinearAttentionVReorderBase: value heads grouped by key head -> tiled
    shape = list(w.shape)
    return np.swapaxes(w.reshape(shape[:axis] + [nk, nv // nk, width] + shape[axis + 1:]), axis, axis + 1).reshape(shape)

def permute(w, n_head, n_head_kv):  # convert_hf_to_gguf.py LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

with open(peft_path, 'rb') as f:
    n = int.from_bytes(f.read(8), 'little')
    header = json.loads(f.read(n))
    blob = f.read()
peft = {k: np.frombuffer(blob[v['data_offsets'][0]:v['data_offsets'][1]], dtype='<f4').reshape(v['shape'])
        for k, v in header.items() if k != '__metadata__'}

arch = next(a for a, name in gguf.MODEL_ARCH_NAMES.items() if name == arch_name)
tmap = gguf.get_tensor_name_map(arch, n_layers)
expected = {}
for key, value in peft.items():
    base = key.replace('base_model.model.', '').replace('.lora_A.weight', '.weight').replace('.lora_B.weight', '.weight')
    name = tmap.get_name(base, try_suffixes=('.weight',))
    if arch_name == 'llama' and '.lora_B.' in key:
        if base.endswith('q_proj.weight'): value = permute(value, n_head, n_head)
        if base.endswith('k_proj.weight'): value = permute(value, n_head, n_kv_head)
    if la and '.linear_attn.' in base:  # on W = B·A a row order lands on B, a column order on A
        nk, nv, dk, dv = la['numKeyHeads'], la['numValueHeads'], la['keyHeadDim'], la['valueHeadDim']
        if '.lora_B.' in key and base.endswith('in_proj_qkv.weight'): value = np.concatenate([value[:2 * nk * dk], reorder_v(value[2 * nk * dk:], 0, nk, nv, dv)])
        if '.lora_B.' in key and base.endswith('in_proj_z.weight'): value = reorder_v(value, 0, nk, nv, dv)
        if '.lora_B.' in key and base.endswith(('in_proj_a.weight', 'in_proj_b.weight')): value = reorder_v(value, 0, nk, nv, 1)
        if '.lora_A.' in key and base.endswith('out_proj.weight'): value = reorder_v(value, 1, nk, nv, dv)
    expected[name + ('.lora_a' if '.lora_A.' in key else '.lora_b')] = value

reader = gguf.GGUFReader(gguf_path)
problems = []
fields = {}
for k, f in reader.fields.items():
    if k.startswith('GGUF.'):
        continue
    fields[k] = {'type': gguf.GGUFValueType(f.types[0]).name, 'value': f.contents()}
got = {t.name: t for t in reader.tensors}
if set(got) != set(expected):
    problems.append(f'names: missing {sorted(set(expected) - set(got))[:3]}, extra {sorted(set(got) - set(expected))[:3]}')
for name, want in expected.items():
    t = got.get(name)
    if t is None:
        continue
    if t.tensor_type != gguf.GGMLQuantizationType.F32:
        problems.append(f'{name}: type {t.tensor_type.name}')
    if [int(x) for x in t.shape] != list(reversed(want.shape)):
        problems.append(f'{name}: ne {list(t.shape)} for numpy shape {list(want.shape)}')
    elif not np.array_equal(np.asarray(t.data).reshape(want.shape), want):
        problems.append(f'{name}: values differ')
print(json.dumps({'version': int(reader.fields['GGUF.version'].contents()), 'alignment': reader.alignment,
                  'fields': fields, 'tensors': len(got), 'problems': problems}))
`;

describe('GGUF LoRA adapter read back with gguf-py (llama.cpp)', () => {
  for (const { fixture, arch } of CASES) {
    it.skipIf(!!py.skip)(`${fixture}: names from gguf-py's tensor map, shapes, F32, values, metadata`, () => {
      const config = fixtureConfig(fixture);
      const { layout, params } = randomAdapter(config, false, 3);
      const dir = mkdtempSync(join(tmpdir(), 'gguf-py-'));
      const files = adapterFiles(layout, params, null);
      writeFileSync(join(dir, 'adapter_model.safetensors'), files['adapter_model.safetensors']);
      writeFileSync(join(dir, 'adapter.gguf'), ggufLoraAdapter({ layout, params, config, name: fixture }));
      const out = JSON.parse(execFileSync(py.python!, ['-c', GGUF_PY_CHECK, join(dir, 'adapter.gguf'), join(dir, 'adapter_model.safetensors'), arch,
        String(config.numHeads), String(config.numKvHeads), String(config.numLayers), JSON.stringify(config.linearAttention)], { encoding: 'utf8' }));
      expect(out.problems).toEqual([]);
      expect(out.version).toBe(3);
      expect(out.alignment).toBe(32);
      expect(out.tensors).toBe(ggufAdapterTensors({ layout, params, config, name: fixture }).length);
      expect(out.fields).toEqual({
        'general.architecture': { type: 'STRING', value: arch },
        'general.name': { type: 'STRING', value: fixture },
        'general.type': { type: 'STRING', value: 'adapter' },
        'adapter.type': { type: 'STRING', value: 'lora' },
        'adapter.lora.alpha': { type: 'FLOAT32', value: 7 },
        'general.quantization_version': { type: 'UINT32', value: 2 },
      });
    });
  }
});

describe('qlora export-gguf', () => {
  let dir = '';
  let layout: LoraLayout;
  let params: Float32Array;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gguf-cli-'));
    ({ layout, params } = randomAdapter(fixtureConfig('tiny-llama'), false, 4));
    mkdirSync(join(dir, 'adapter'));
    for (const [name, bytes] of Object.entries(adapterFiles(layout, params, 'org/tiny-llama'))) writeFileSync(join(dir, 'adapter', name), bytes);
  });

  it('writes the same bytes as the library, named after the adapter\'s base model', async () => {
    const out = join(dir, 'adapter.gguf');
    const r = await runCli(['export-gguf', '--model', join(FIXTURES, 'tiny-llama'), '--adapter', join(dir, 'adapter'), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const want = ggufLoraAdapter({ layout, params, config: fixtureConfig('tiny-llama'), name: 'org/tiny-llama' });
    expect(jsonLines(r.stdout)).toEqual([{ out, architecture: 'llama', tensors: 28, bytes: want.byteLength }]);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(want))).toBe(true);
  });

  it('refuses an adapter that does not fit the model, and an --out that is not .gguf', async () => {
    const wrong = await runCli(['export-gguf', '--model', join(FIXTURES, 'tiny-qwen2'), '--adapter', join(dir, 'adapter'), '--out', join(dir, 'x.gguf')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/has shape .* expected .*\[ADAPTER_INVALID\]/);
    const notGguf = await runCli(['export-gguf', '--model', join(FIXTURES, 'tiny-llama'), '--adapter', join(dir, 'adapter'), '--out', join(dir, 'x.bin')]);
    expect(notGguf.code).toBe(2);
    expect(notGguf.stderr).toMatch(/\.gguf/);
  });
});
