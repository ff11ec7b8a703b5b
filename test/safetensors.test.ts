// safetensors: the fixtures read with the right names/shapes and rewrite byte-identical (so our writer
// matches the Python one), round trips of every dtype, and each kind of corruption refused with a
// WEIGHTS_CORRUPT that names the file and the tensor.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QloraError } from '../src/errors';
import { f16ToF32, f32ArrayToBf16, f32ArrayToF16, bf16ToF32 } from '../src/formats/half';
import {
  DTYPE_BYTES,
  DTYPES,
  SafetensorsFile,
  parseSafetensorsHeader,
  parseShardIndex,
  safetensorsHeaderLength,
  writeSafetensors,
  type Dtype,
  type TensorToWrite,
} from '../src/formats/safetensors';

const fixture = (path: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${path}`, import.meta.url)));

/** A file from raw header text (no padding) and `dataBytes` bytes of data 0, 1, 2, ... */
function rawFile(header: string, dataBytes: number): Uint8Array {
  const text = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + text.length + dataBytes);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + text.length + i] = i & 0xff;
  return out;
}

function corruptError(fn: () => unknown): QloraError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    expect((e as QloraError).code).toBe('WEIGHTS_CORRUPT');
    return e as QloraError;
  }
  throw new Error('expected a WEIGHTS_CORRUPT error, nothing was thrown');
}

/** Index of the first differing byte, or -1 (expect().toEqual is slow on 600 KB arrays). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

const open = (bytes: Uint8Array, name = 'bad.safetensors') => new SafetensorsFile(bytes, name);

describe('reading the fixtures', () => {
  it('tiny-llama: names, shapes, metadata, values', () => {
    const file = open(fixture('tiny-llama/model.safetensors'), 'model.safetensors');
    expect(file.names()).toHaveLength(2 + 2 * 9 + 1);
    expect(file.header.metadata).toEqual({ format: 'pt' });
    expect(file.header.dataStart % 8).toBe(0);
    expect(file.info('lm_head.weight')).toMatchObject({ dtype: 'F32', shape: [512, 64], begin: 0, end: 131072 });
    expect(file.info('model.layers.0.self_attn.k_proj.weight').shape).toEqual([32, 64]);
    expect(file.info('model.layers.1.mlp.down_proj.weight').shape).toEqual([64, 176]);
    expect(file.has('model.norm.weight')).toBe(true);
    expect(file.has('model.layers.2.mlp.up_proj.weight')).toBe(false);
    const embed = file.float32('model.embed_tokens.weight');
    expect(embed).toHaveLength(512 * 64);
    expect(embed.every(Number.isFinite)).toBe(true);
    // The same bytes, read as a view: float32() is a faithful copy.
    const raw = file.bytes('model.embed_tokens.weight');
    expect(new Float32Array(raw.slice().buffer)).toEqual(embed);
  });

  it('tiny-qwen2: q/k/v biases, tied embeddings (no lm_head)', () => {
    const file = open(fixture('tiny-qwen2/model.safetensors'), 'model.safetensors');
    expect(file.has('lm_head.weight')).toBe(false);
    expect(file.info('model.layers.0.self_attn.q_proj.bias').shape).toEqual([64]);
    expect(file.info('model.layers.0.self_attn.k_proj.bias').shape).toEqual([16]);
    expect(file.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
  });

  it('tiny-llama-bnb-nf4: packed U8 weights and the quant state JSON', () => {
    const file = open(fixture('tiny-llama-bnb-nf4/model.safetensors'), 'model.safetensors');
    expect(file.names()).toHaveLength(91);
    expect(file.info('model.layers.0.self_attn.q_proj.weight')).toMatchObject({ dtype: 'U8', shape: [2048, 1] });
    expect(file.info('model.layers.0.mlp.down_proj.weight.quant_map')).toMatchObject({ dtype: 'F32', shape: [16] });
    const state = file.uint8('model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4');
    const json = JSON.parse(new TextDecoder().decode(state)) as Record<string, unknown>;
    expect(json['quant_type']).toBe('nf4');
    // U8 data sits at odd offsets after the F32 block; uint8() is a view, float32() refuses it.
    expect(() => file.float32('model.layers.0.self_attn.q_proj.weight')).toThrow(/is U8, but float32\(\) reads/);
    expect(() => file.uint8('model.norm.weight')).toThrow(/is F32, but uint8\(\) reads U8/);
  });

  it('golden grads: PEFT keys', () => {
    const file = open(fixture('golden/tiny-llama/lora/grads.safetensors'), 'grads.safetensors');
    expect(file.names()).toHaveLength(2 * 7 * 2);
    expect(file.info('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight').shape).toEqual([8, 176]);
    expect(file.info('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight').shape).toEqual([32, 8]);
  });

  it.each([
    'tiny-llama/model.safetensors',
    'tiny-llama/nf4-expected.safetensors',
    'tiny-qwen2/model.safetensors',
    'tiny-llama-bnb-nf4/model.safetensors',
    'tiny-qwen2-bnb-nf4/model.safetensors',
    'golden/tiny-llama/lora/grads.safetensors',
    'golden/tiny-qwen2/qlora/adapter_step3/adapter_model.safetensors',
    'golden/tiny-llama/qlora/merged_layer0.safetensors',
  ])('%s rewrites byte-identical (same order, padding and JSON as the Python writer)', (path) => {
    const original = fixture(path);
    const file = open(original, path);
    const tensors = [...file.header.tensors.values()]
      .reverse() // the writer must order them itself
      .map(({ name, dtype, shape }) => ({ name, dtype, shape, data: file.bytes(name) }));
    const written = writeSafetensors(tensors, file.header.metadata);
    expect(written.length).toBe(original.length);
    expect(firstDifference(written, original)).toBe(-1);
  });

  it('reads a Node Buffer (fs.readFileSync) as it reads a Uint8Array: float32() copies the tensor, not the whole file', () => {
    const buf = readFileSync(new URL('./fixtures/tiny-llama/model.safetensors', import.meta.url));
    const fromBuffer = new SafetensorsFile(buf, 'model.safetensors');
    const fromArray = new SafetensorsFile(new Uint8Array(buf), 'model.safetensors');
    for (const name of ['model.embed_tokens.weight', 'model.norm.weight']) {
      expect(fromBuffer.float32(name)).toEqual(fromArray.float32(name));
    }
  });

  it('reads the header from a prefix only (how the browser reads a 2 GB file)', () => {
    const whole = fixture('tiny-qwen2/model.safetensors');
    const length = safetensorsHeaderLength(whole.subarray(0, 8), 'model.safetensors', whole.length);
    const header = parseSafetensorsHeader(whole.slice(0, 8 + length), 'model.safetensors', whole.length);
    expect(header.headerLength).toBe(length);
    expect(header.dataStart).toBe(8 + length);
    expect([...header.tensors.keys()]).toEqual(open(whole).names());
    // Too short a prefix is the caller's bug, not a corrupt file.
    expect(() => parseSafetensorsHeader(whole.slice(0, 100), 'model.safetensors', whole.length)).toThrow(
      expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(/needs the first \d+ bytes/) }),
    );
  });
});

describe('writing', () => {
  const values = [0, 1, -2.5, 3.14159, 65504, 1e-6, -0.1, 7];

  function dataFor(dtype: Dtype, count: number): ArrayBufferView {
    switch (dtype) {
      case 'F64': return new Float64Array(count).map((_, i) => values[i % values.length]! * 1.000001);
      case 'F32': return new Float32Array(count).map((_, i) => values[i % values.length]!);
      case 'F16': return f32ArrayToF16(Array.from({ length: count }, (_, i) => values[i % values.length]!));
      case 'BF16': return f32ArrayToBf16(Array.from({ length: count }, (_, i) => values[i % values.length]!));
      case 'I64': return new BigInt64Array(count).map((_, i) => BigInt(i) - 3n);
      case 'U64': return new BigUint64Array(count).map((_, i) => BigInt(i) * 2n ** 40n);
      case 'I32': return new Int32Array(count).map((_, i) => i - 5);
      case 'U32': return new Uint32Array(count).map((_, i) => i * 100000);
      case 'I16': return new Int16Array(count).map((_, i) => i - 300);
      case 'U16': return new Uint16Array(count).map((_, i) => i * 999);
      case 'I8': return new Int8Array(count).map((_, i) => i - 100);
      default: return new Uint8Array(count).map((_, i) => (dtype === 'BOOL' ? i & 1 : i * 7));
    }
  }

  it('round-trips every dtype, with the data in dtype-alignment order and 8-byte header padding', () => {
    const tensors: TensorToWrite[] = DTYPES.map((dtype, i) => ({ name: `t${i}.${dtype}`, dtype, shape: [3, i + 1], data: dataFor(dtype, 3 * (i + 1)) }));
    tensors.push({ name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) });
    tensors.push({ name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42]) });
    const bytes = writeSafetensors(tensors);
    const file = open(bytes, 'roundtrip.safetensors');
    expect(file.header.dataStart % 8).toBe(0);
    expect(file.header.metadata).toEqual({ format: 'pt' });
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + 16))).toBe('{"__metadata__":');
    for (const t of tensors) {
      const info = file.info(t.name);
      expect(info.dtype).toBe(t.dtype);
      expect(info.shape).toEqual(t.shape);
      expect(info.begin % DTYPE_BYTES[t.dtype]).toBe(0); // aligned: larger dtypes come first
      expect(file.bytes(t.name)).toEqual(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    const order = file.names().map((n) => file.info(n).dtype);
    expect(order.slice(0, 3)).toEqual(['U64', 'I64', 'F64']);
    expect(order.at(-1)).toBe('BOOL');
    expect(file.float32('scalar')).toEqual(new Float32Array([42]));
    expect(file.float32('empty')).toHaveLength(0);
  });

  it('float32() converts F16, BF16 and F64 exactly as the element-wise helpers', () => {
    const source = Float32Array.from({ length: 37 }, (_, i) => Math.sin(i) * 1000);
    const f16 = f32ArrayToF16(source);
    const bf16 = f32ArrayToBf16(source);
    const f64 = Float64Array.from(source, (x) => x + 1e-9);
    const file = open(
      writeSafetensors([
        { name: 'h', dtype: 'F16', shape: [37], data: f16 },
        { name: 'b', dtype: 'BF16', shape: [37], data: bf16 },
        { name: 'd', dtype: 'F64', shape: [37], data: f64 },
      ]),
    );
    expect(file.float32('h')).toEqual(Float32Array.from(f16, f16ToF32));
    expect(file.float32('b')).toEqual(Float32Array.from(bf16, bf16ToF32));
    expect(file.float32('d')).toEqual(Float32Array.from(f64, Math.fround));
  });

  it('float32() copes with tensors at unaligned addresses and returns an owned copy', () => {
    const original = writeSafetensors([
      { name: 'a', dtype: 'F32', shape: [5], data: new Float32Array([1, 2, 3, 4, 5]) },
      { name: 'h', dtype: 'F16', shape: [2], data: f32ArrayToF16([0.5, -8]) },
      { name: 'd', dtype: 'F64', shape: [1], data: new Float64Array([0.25]) },
    ]);
    const shifted = new Uint8Array(original.length + 1).subarray(1); // every tensor now at an odd address
    shifted.set(original);
    const file = open(shifted);
    const a = file.float32('a');
    expect(a).toEqual(new Float32Array([1, 2, 3, 4, 5]));
    expect(file.float32('h')).toEqual(new Float32Array([0.5, -8]));
    expect(file.float32('d')).toEqual(new Float32Array([0.25]));
    a[0] = 99;
    expect(file.float32('a')[0]).toBe(1);
  });

  it('orders names by code point and keeps integer-like names in place', () => {
    const names = ['b', '10', 'a', '2', '\u{1F600}', '\uFFFD'];
    const file = open(writeSafetensors(names.map((name) => ({ name, dtype: 'U8' as const, shape: [1], data: new Uint8Array([1]) })), null));
    expect(file.names()).toEqual(['10', '2', 'a', 'b', '\uFFFD', '\u{1F600}']);
    expect(file.header.metadata).toEqual({});
  });

  it('refuses data whose length does not match shape x dtype, and duplicate names', () => {
    expect(() => writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2, 3], data: new Float32Array(5) }])).toThrow(
      /tensor "w": shape \[2,3\] of F32 needs 24 bytes, got 20/,
    );
    const t = { name: 'w', dtype: 'U8' as const, shape: [1], data: new Uint8Array(1) };
    expect(() => writeSafetensors([t, t])).toThrow(/given twice/);
  });
});

describe('corrupt files', () => {
  const good = () =>
    writeSafetensors([
      { name: 'alpha', dtype: 'F32', shape: [2, 2], data: new Float32Array(4) },
      { name: 'beta', dtype: 'F32', shape: [3], data: new Float32Array(3) },
    ]);

  it('truncated file names the tensor that runs past the end', () => {
    const bytes = good();
    const e = corruptError(() => open(bytes.slice(0, bytes.length - 5), 'model.safetensors'));
    expect(e.message).toMatch(/^model\.safetensors: tensor "beta" ends at data offset 28 but the file holds only 23 bytes/);
    expect(e.message).toMatch(/truncated/);
  });

  it('trailing bytes after the last tensor', () => {
    const bytes = good();
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(corruptError(() => open(longer, 'model.safetensors')).message).toMatch(
      /model\.safetensors: the tensors cover 28 bytes of data but the file has 31 .*3 trailing bytes/,
    );
  });

  it('file shorter than 8 bytes', () => {
    expect(corruptError(() => open(new Uint8Array(5))).message).toMatch(/bad\.safetensors: the file is 5 bytes long/);
  });

  it('header length beyond the reference limit, or beyond the file', () => {
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(0, 100_000_001, true);
    expect(corruptError(() => open(huge)).message).toMatch(/bad\.safetensors: header length is 100000001 bytes, more than the 100000000/);
    new DataView(huge.buffer).setUint32(4, 1, true); // N >= 2^32
    expect(corruptError(() => open(huge)).message).toMatch(/more than the 100000000/);
    const short = rawFile('{}', 0);
    new DataView(short.buffer).setUint32(0, 50, true);
    expect(corruptError(() => open(short)).message).toMatch(/header length is 50 bytes but the file is only 10 bytes long/);
    expect(corruptError(() => safetensorsHeaderLength(short.subarray(0, 8), 'x.safetensors', 10)).message).toMatch(/^x\.safetensors/);
  });

  it('header that is not UTF-8, not JSON, or not an object', () => {
    const notUtf8 = rawFile('{}', 0);
    notUtf8[9] = 0xff;
    expect(corruptError(() => open(notUtf8)).message).toMatch(/not valid UTF-8/);
    expect(corruptError(() => open(rawFile('{"a": {"dtype": "F32",', 0))).message).toMatch(/bad\.safetensors: the header is not valid JSON/);
    expect(corruptError(() => open(rawFile('[1, 2]', 0))).message).toMatch(/must be a JSON object starting with "\{"/);
    expect(corruptError(() => open(rawFile(' {}', 0))).message).toMatch(/starting with "\{"/);
  });

  it('unknown dtype', () => {
    const e = corruptError(() => open(rawFile('{"w.q":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', 2)));
    expect(e.message).toMatch(/bad\.safetensors: tensor "w\.q": unknown dtype "F8_E4M3"; supported: F64, F32/);
  });

  it('shape x dtype size differs from the byte length', () => {
    const e = corruptError(() => open(rawFile('{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}', 20)));
    expect(e.message).toMatch(/bad\.safetensors: tensor "w": shape \[2,3\] of F32 needs 24 bytes but data_offsets \[0, 20\] hold 20/);
  });

  it('malformed shape, offsets and metadata', () => {
    const cases: [string, RegExp][] = [
      ['{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', /tensor "w": shape must be a list of non-negative integers, found \[-1\]/],
      ['{"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}', /tensor "w": shape must be/],
      ['{"w":{"dtype":"U8","shape":"1","data_offsets":[0,1]}}', /tensor "w": shape must be/],
      ['{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', /tensor "w": data_offsets must be \[begin, end\]/],
      ['{"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}', /tensor "w": data_offsets must be/],
      ['{"w":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}', /tensor "w": data_offsets \[1, 0\] end before they begin/],
      ['{"w":{"dtype":"U8","shape":[1]}}', /tensor "w": data_offsets must be/],
      ['{"w":[1,2]}', /tensor "w": expected \{dtype, shape, data_offsets\}/],
      ['{"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,1]}}', /tensor "w": shape .* too large/],
      ['{"__metadata__":{"format":1}}', /"__metadata__"\."format" must be a string, found 1/],
      ['{"__metadata__":["pt"]}', /"__metadata__" must be an object of strings/],
    ];
    for (const [header, message] of cases) expect(corruptError(() => open(rawFile(header, 1))).message).toMatch(message);
  });

  it('overlapping offsets name both tensors', () => {
    const header = '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}';
    expect(corruptError(() => open(rawFile(header, 6))).message).toMatch(/tensor "b" \(data_offsets \[2, 6\]\) overlaps tensor "a" which ends at 4/);
  });

  it('a gap between tensors', () => {
    const header = '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}';
    expect(corruptError(() => open(rawFile(header, 8))).message).toMatch(
      /tensor "b" begins at data offset 6 but the previous data ends at 4: a gap of 2 unaccounted bytes after tensor "a"/,
    );
    const atStart = '{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}';
    expect(corruptError(() => open(rawFile(atStart, 8))).message).toMatch(/gap of 4 unaccounted bytes at the start/);
  });

  it('accepts offsets listed out of order and zero-size tensors, as the reference does', () => {
    const header =
      '{"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}';
    const file = open(rawFile(header, 6));
    expect(file.names()).toEqual(['a', 'z', 'b']);
    expect(Array.from(file.bytes('b'))).toEqual([4, 5]);
    expect(open(rawFile('{}', 0)).names()).toEqual([]);
  });

  it('looking up a missing tensor names the file, the tensor and close names', () => {
    const file = open(good(), 'adapter_model.safetensors');
    const e = corruptError(() => file.float32('alphx'));
    expect(e.message).toMatch(/^adapter_model\.safetensors: no tensor "alphx" \(the file holds 2 tensors; closest names: "alpha"/);
    expect(e.details).toEqual({ fileName: 'adapter_model.safetensors', tensor: 'alphx' });
  });
});

describe('parseShardIndex', () => {
  const index = {
    metadata: { total_size: 123 },
    weight_map: {
      'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
      'lm_head.weight': 'model-00002-of-00002.safetensors',
      'model.norm.weight': 'model-00002-of-00002.safetensors',
    },
  };

  it('maps tensors to shards and lists the shards once, sorted', () => {
    const { weightMap, shards } = parseShardIndex(index);
    expect(weightMap.get('lm_head.weight')).toBe('model-00002-of-00002.safetensors');
    expect(shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  });

  it.each(['../model.safetensors', 'a/../../b.safetensors', '/etc/model.safetensors', 'C:\\m.safetensors', 'c:m.safetensors', 'a\\..\\b.safetensors', 'https://x/y.safetensors', './/m.safetensors'])(
    'refuses shard name %s',
    (shard) => {
      const e = corruptError(() => parseShardIndex({ weight_map: { w: shard } }, 'idx.json'));
      expect(e.message).toMatch(/^idx\.json: tensor "w" maps to/);
    },
  );

  it('refuses malformed indexes', () => {
    expect(corruptError(() => parseShardIndex(null)).message).toMatch(/model\.safetensors\.index\.json: expected a JSON object/);
    expect(corruptError(() => parseShardIndex({ weight_map: [] })).message).toMatch(/"weight_map" must be an object/);
    expect(corruptError(() => parseShardIndex({ weight_map: {} })).message).toMatch(/is empty/);
    expect(corruptError(() => parseShardIndex({ weight_map: { w: 3 } })).message).toMatch(/tensor "w" maps to 3/);
    expect(corruptError(() => parseShardIndex({ weight_map: { w: 'model.bin' } })).message).toMatch(/expected a \.safetensors file/);
  });
});
