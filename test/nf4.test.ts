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

const FIX = new URL('./fixtures/', import.meta.url).pathname;
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

  for (const model of ['tiny-llama', 'tiny-qwen2']) {
    it(`${model}: every projection's bytes, absmax and dequantized values are exact`, () => {
      const weights = load(`${model}/model.safetensors`);
      const expected = load(`${model}/nf4-expected.safetensors`);
      const names = expected.names().filter((n) => n.endsWith('.nf4')).map((n) => n.slice(0, -4));
      expect(names.length).toBe(14);
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
      const names = weights.names().filter((n) => /proj\.weight$/.test(n));
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
