// Wrapper of shaders/rope.wgsl (in place; sign -1 is the backward pass).
import { QloraError } from '../../errors';
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { dummyBuffer, threads } from './common';

export interface RopeTables {
  cos: GPUBuffer; // [maxPos, rotaryDim/2]
  sin: GPUBuffer;
  maxPos: number;
}

/**
 * Rotates x [rows, heads*headDim] in place, and `second` (x2 [rows, heads2*headDim], e.g. k beside q)
 * in the same dispatch; row r is at position pos0 + r % T, pos0 = dyn[0]. Only the first `rotaryDim` dims of
 * each head turn (partial RoPE; the tables hold rotaryDim/2 frequencies), the rest pass through.
 */
export function rope(
  rec: Recorder, x: Binding, tables: RopeTables, dyn: Binding, rows: number, T: number, heads: number, headDim: number, sign: 1 | -1,
  second?: { x: Binding; heads: number }, rotaryDim = headDim,
): void {
  if (rotaryDim % 2 !== 0 || rotaryDim < 2 || rotaryDim > headDim) {
    throw new QloraError('CONFIG_INVALID', `rope: rotary dim ${rotaryDim} for head_dim ${headDim}; expected an even number from 2 to head_dim (check partial_rotary_factor).`);
  }
  const heads2 = second?.heads ?? 0;
  const p = new Params().u32(rows).u32(T).u32(heads).u32(headDim).f32(sign).u32(heads2).u32(rotaryDim).u32(0);
  rec.dispatch(KERNELS.rope, p, [x, tables.cos, tables.sin, dyn, second?.x ?? dummyBuffer(rec.ctx)], threads(rec.ctx, (rows * (heads + heads2) * rotaryDim) / 2));
}
