// The bandwidth ceiling's copy kernel (shaders/copy_vec4.wgsl): every element copied, interior and
// ragged tails (n not a multiple of the 1024 elements a workgroup moves), nothing written past n.
import { describe, it, expect } from 'vitest';
import { copyVec4 } from '../src/gpu/ops/copy';
import { gpu, run, u32buf } from './helpers/gpu';

describe('copy_vec4', () => {
  for (const vecs of [1, 3, 1024, 2 * 1024 + 5, 3 * 1024 * 4 + 1023]) {
    it(`copies ${vecs} vec4 and leaves the rest`, async () => {
      const ctx = await gpu();
      const src = Uint32Array.from({ length: 4 * vecs + 8 }, (_, i) => (i * 2654435761) >>> 0);
      const dst0 = new Uint32Array(src.length).fill(0xdeadbeef);
      const [s, d] = [u32buf(ctx, src), u32buf(ctx, dst0)];
      const [got] = await run(ctx, (rec) => copyVec4(rec, d, s, 16 * vecs), d);
      const bits = new Uint32Array(got.buffer);
      expect(bits.subarray(0, 4 * vecs)).toEqual(src.subarray(0, 4 * vecs));
      expect([...bits.subarray(4 * vecs)].every((v) => v === 0xdeadbeef)).toBe(true);
    });
  }
});
