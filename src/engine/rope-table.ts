// Cos/sin tables for RoPE, built on the CPU the way transformers does it: inv_freq and
// freqs = inv_freq * position in float32, then cos/sin of that float32 angle, so the GPU applies
// exactly the rotation the reference applies (a GPU cos of a large f32 angle would not be as accurate).
import type { GpuContext } from '../gpu/context';
import { uploadBuffer } from '../gpu/context';
import type { RopeTables } from '../gpu/ops/rope';

export function ropeTableData(invFreq: ArrayLike<number>, maxPos: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let pos = 0; pos < maxPos; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(Math.fround(invFreq[i]) * pos);
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

export function uploadRopeTables(ctx: GpuContext, invFreq: ArrayLike<number>, maxPos: number): RopeTables {
  const { cos, sin } = ropeTableData(invFreq, maxPos);
  return { cos: uploadBuffer(ctx, cos, 'rope.cos'), sin: uploadBuffer(ctx, sin, 'rope.sin'), maxPos };
}
