// Qwen3.5's Gated DeltaNet projections in a GGUF adapter (src/export/gguf-linear-attention.ts): the value-head
// order llama.cpp's converter gives the base weights, applied to a LoRA pair, must equal that order applied to
// the pair's product B·A. The test's own reorder is written as the converter states it (view the dimension as
// [key heads, value heads per key, head dim], swap the first two), not as the module's head map. Pure Node.
import { describe, expect, it } from 'vitest';
import { linearAttentionGgufPair, tiledValueHeads } from '../src/export/gguf-linear-attention';
import type { GatedDeltaNetProjection } from '../src/export/gguf-linear-attention';
import type { LinearAttentionConfig } from '../src/formats/linear-attention-config';
import { linearQkvChannels } from '../src/formats/linear-attention-config';
import { randomF32 } from './helpers/compare';

/** [out, in] = B [out, r] · A [r, in]. */
function product(B: Float32Array, A: Float32Array, r: number): Float64Array {
  const out = B.length / r;
  const inF = A.length / r;
  const W = new Float64Array(out * inF);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) for (let k = 0; k < r; k++) W[o * inF + i] += B[o * r + k] * A[k * inF + i];
  return W;
}

/** Index along a dimension of n = Hk·(Hv/Hk)·width after the reshape-swap-reshape: new index → old index. */
function swappedIndex(newIndex: number, la: LinearAttentionConfig, width: number): number {
  const perKey = la.numValueHeads / la.numKeyHeads;
  const d = newIndex % width;
  const outer = Math.floor(newIndex / width); // over [perKey, Hk] after the swap
  const k = outer % la.numKeyHeads;
  const v = Math.floor(outer / la.numKeyHeads);
  return (k * perKey + v) * width + d;
}

/** The converter's reorder of W [rows, cols] along rows [from, from + Hv·width) or along all columns. */
function reorderW(W: Float64Array, rows: number, cols: number, la: LinearAttentionConfig, width: number, along: 'rows' | 'cols', from = 0): Float64Array {
  const out = new Float64Array(W.length);
  const n = la.numValueHeads * width;
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      let src = row * cols + col;
      if (along === 'rows' && row >= from && row < from + n) src = (from + swappedIndex(row - from, la, width)) * cols + col;
      if (along === 'cols') src = row * cols + swappedIndex(col, la, width);
      out[row * cols + col] = W[src];
    }
  }
  return out;
}

// tiny-qwen3_5's linear layers: 2 key heads of 24 over 4 value heads of 16; hidden 64.
const TINY: LinearAttentionConfig = { numKeyHeads: 2, numValueHeads: 4, keyHeadDim: 24, valueHeadDim: 16, convKernelDim: 4 };
const D = 64;
const r = 3;

describe('GGUF value-head order of the linear layers', () => {
  it('tiled order: position v·Hk + k holds transformers head k·(Hv/Hk) + v', () => {
    expect(tiledValueHeads(2, 4)).toEqual([0, 2, 1, 3]);
    expect(tiledValueHeads(2, 6)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(tiledValueHeads(16, 16)).toEqual(Array.from({ length: 16 }, (_, i) => i)); // Qwen3.5-0.8B / 2B: unchanged
  });

  const shapes: Record<GatedDeltaNetProjection, [number, number, number, 'rows' | 'cols', number]> = {
    // [out, in, width of a head, what moves, first moved row]
    in_proj_qkv: [linearQkvChannels(TINY), D, TINY.valueHeadDim, 'rows', 2 * TINY.numKeyHeads * TINY.keyHeadDim],
    in_proj_z: [TINY.numValueHeads * TINY.valueHeadDim, D, TINY.valueHeadDim, 'rows', 0],
    in_proj_b: [TINY.numValueHeads, D, 1, 'rows', 0],
    in_proj_a: [TINY.numValueHeads, D, 1, 'rows', 0],
    out_proj: [D, TINY.numValueHeads * TINY.valueHeadDim, TINY.valueHeadDim, 'cols', 0],
  };
  for (const [module, [outF, inF, width, along, from]] of Object.entries(shapes) as [GatedDeltaNetProjection, (typeof shapes)[GatedDeltaNetProjection]][]) {
    it(`${module}: B'·A' equals the converter's reorder of B·A`, () => {
      const A = randomF32(r * inF, outF + 1);
      const B = randomF32(outF * r, inF + 2);
      const pair = linearAttentionGgufPair(module, A, B, r, TINY);
      const want = reorderW(product(B, A, r), outF, inF, TINY, width, along, from);
      expect(Array.from(product(pair.B, pair.A, r))).toEqual(Array.from(want)); // a permutation: exact
      expect(pair.A.length === A.length && pair.B.length === B.length).toBe(true);
    });
  }
});
