// NF4 quantization bit-exact against bitsandbytes: the 128-value vector, every projection of the tiny
// checkpoints (nf4-expected.safetensors: packed bytes, absmax, dequantized values), and double
// quantization against the bitsandbytes-format checkpoints (codes, nested absmax, offset, bytes).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { SafetensorsFile } from '../src/formats/safetensors';
import { singleFile } from '../src/formats/tensor-source';
import { readBnbNf4 } from '../src/formats/bnb4bit';
import { quantizeNf4Blocks, quantizeNf4, dequantizeNf4, blockAbsmax, nf4Code } from '../src/quant/nf4';
import type { DoubleQuantAbsmax } from '../src/quant/nf4';
import { NF4_LEVELS, SIGNED_DYNAMIC_MAP } from '../src/quant/code-tables';
import { f16ArrayToF32, bf16ArrayToF32 } from '../src/formats/half';
import { GOLDEN_MODELS } from './helpers/golden';
import { parseModelConfig } from '../src/formats/model-config';
import { layerProjections } from '../src/formats/checkpoint-names';

const FIX = new URL('./fixtures/', import.meta.url).pathname;

/** The weight names of every linear projection of a fixture model (Qwen3.5's in_proj_* included). */
function projectionNames(model: string): string[] {
  const config = parseModelConfig(JSON.parse(readFileSync(`${FIX}${model}/config.json`, 'utf8')));
  return config.layerTypes.flatMap((_, i) => layerProjections(config, i).map((p) => `${p.path}.weight`));
}
const load = (p: string) => new SafetensorsFile(new Uint8Array(readFileSync(FIX + p)), p);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('NF4 (bitsandbytes)', () => {
  it('reproduces nf4-vector.json', () => {
    const v = JSON.parse(readFileSync(FIX + 'nf4-vector.json', 'utf8'));
    const { packed, absmax } = quantizeNf4Blocks(Float32Array.from(v.input));
    expect(hex(packed)).toBe(v.packed_hex);
    expect(Array.from(absmax)).toEqual(v.absmax.map(Math.fround));
    expect(Array.from(dequantizeNf4({ shape: [1, v.input.length], packed, blocksize: 64, absmax }))).toEqual(v.dequant.map(Math.fround));
    expect(Array.from(NF4_LEVELS)).toEqual(v.nf4_table.map(Math.fround));
    expect(Array.from(SIGNED_DYNAMIC_MAP)).toEqual(v.signed_dynamic_map.map(Math.fround));
  });

  it('sends a value equal to a threshold to the lower code, NaN (all-zero block) to code 0', () => {
    expect(nf4Code(Math.fround(0.03979014977812767))).toBe(7);
    expect(nf4Code(Math.fround(0.8614784181118011))).toBe(14);
    expect(nf4Code(NaN)).toBe(0);
    expect(quantizeNf4Blocks(new Float32Array(64)).packed.every((b) => b === 0)).toBe(true);
  });

  it('quantizes stored F16 / BF16 values chunk by chunk exactly as their float32 widening', () => {
    const n = 2 * 65536 + 3 * 64 + 31; // past two conversion chunks, a short odd last block
    let seed = 7;
    const bits = new Uint16Array(n).map(() => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) & 0xbfff; // exponents below the top half: finite values of both formats
    });
    for (const dtype of ['F16', 'BF16'] as const) {
      const w = (dtype === 'F16' ? f16ArrayToF32 : bf16ArrayToF32)(bits);
      const a = quantizeNf4Blocks({ dtype, bits });
      const b = quantizeNf4Blocks(w);
      expect(hex(a.packed) === hex(b.packed), dtype).toBe(true);
      expect(a.absmax).toEqual(b.absmax);
    }
  });

  it('the code lookup of quantizeNf4Blocks agrees with the comparisons at thresholds, their neighbours and random values', () => {
    // A block whose absmax is 1 scales by exactly 1, so each value's code is nf4Code(value).
    const bits = new Uint32Array(1);
    const asF32 = new Float32Array(bits.buffer);
    const near = (x: number, d: number) => {
      asF32[0] = x;
      bits[0] += d;
      return asF32[0];
    };
    const values: number[] = [0, -0, 1e-40, -1e-40, 0.5, -0.5];
    for (const t of [-0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544, -0.23460740596055984, -0.13791173323988914, -0.045525018125772476, 0.03979014977812767, 0.1202552504837513, 0.2035212516784668, 0.2920137718319893, 0.3893125355243683, 0.5016634166240692, 0.6427869200706482, 0.8614784181118011]) {
      for (let d = -3; d <= 3; d++) values.push(near(t, d));
    }
    let seed = 12345;
    while (values.length % 63 !== 0 || values.length < 63 * 40) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      values.push(Math.fround(seed / 2 ** 31 - 1));
    }
    const blocks = values.length / 63;
    const w = new Float32Array(blocks * 64);
    for (let b = 0; b < blocks; b++) {
      w[b * 64] = 1;
      w.set(values.slice(b * 63, b * 63 + 63), b * 64 + 1);
    }
    const { packed } = quantizeNf4Blocks(w);
    for (let i = 0; i < w.length; i++) {
      const c = i & 1 ? packed[i >> 1] & 15 : packed[i >> 1] >> 4;
      expect(c, `value ${w[i]}`).toBe(nf4Code(w[i]));
    }
  });

  for (const model of GOLDEN_MODELS) {
    it(`${model}: every projection's bytes, absmax and dequantized values are exact`, () => {
      const weights = load(`${model}/model.safetensors`);
      const expected = load(`${model}/nf4-expected.safetensors`);
      const names = expected.names().filter((n) => n.endsWith('.nf4')).map((n) => n.slice(0, -4));
      expect(names.sort()).toEqual(projectionNames(model).sort()); // every projection of every layer, its mixer's and the MLP's
      for (const name of names) {
        const w = weights.float32(name);
        const shape = weights.info(name).shape as [number, number];
        const { packed, absmax } = quantizeNf4Blocks(w);
        expect(hex(packed), `${name} bytes`).toBe(hex(expected.uint8(name + '.nf4')));
        expect(Array.from(absmax), `${name} absmax`).toEqual(Array.from(expected.float32(name + '.absmax')));
        const deq = dequantizeNf4({ shape, packed, blocksize: 64, absmax });
        expect(Array.from(deq), `${name} dequant`).toEqual(Array.from(expected.float32(name + '.dequant')));
      }
    });

    it(`${model}: double quantization equals the bitsandbytes checkpoint`, () => {
      const weights = load(`${model}/model.safetensors`);
      const bnb = singleFile(load(`${model}-bnb-nf4/model.safetensors`));
      const names = projectionNames(model);
      for (const name of names) {
        const ref = readBnbNf4(bnb, name);
        const ours = quantizeNf4(weights.float32(name), weights.info(name).shape as [number, number]);
        expect(hex(ours.packed), `${name} bytes`).toBe(hex(ref.packed));
        const a = ours.absmax as DoubleQuantAbsmax;
        const b = ref.absmax as DoubleQuantAbsmax;
        expect(a.offset, `${name} offset`).toBe(b.offset);
        expect(Array.from(a.nestedAbsmax), `${name} nested absmax`).toEqual(Array.from(b.nestedAbsmax));
        expect(hex(a.codes), `${name} absmax codes`).toBe(hex(b.codes));
        expect(Array.from(blockAbsmax(a))).toEqual(Array.from(blockAbsmax(b)));
      }
    });
  }
});
