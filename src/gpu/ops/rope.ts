// Wrapper of shaders/rope.wgsl (in place; sign -1 is the backward pass).
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { dummyBuffer, threads } from './common';

export interface RopeTables {
  cos: GPUBuffer; // [maxPos, headDim/2]
  sin: GPUBuffer;
  maxPos: number;
}

/**
 * Rotates x [rows, heads*headDim] in place, and `second` (x2 [rows, heads2*headDim], e.g. k beside q)
 * in the same dispatch; row r is at position pos0 + r % T, pos0 = dyn[0].
 */
export function rope(
  rec: Recorder, x: Binding, tables: RopeTables, dyn: Binding, rows: number, T: number, heads: number, headDim: number, sign: 1 | -1,
  second?: { x: Binding; heads: number },
): void {
  const heads2 = second?.heads ?? 0;
  const p = new Params().u32(rows).u32(T).u32(heads).u32(headDim).f32(sign).u32(heads2).u32(0).u32(0);
  rec.dispatch(KERNELS.rope, p, [x, tables.cos, tables.sin, dyn, second?.x ?? dummyBuffer(rec.ctx)], threads(rec.ctx, (rows * (heads + heads2) * headDim) / 2));
}
