// Frozen base weights on the GPU in the format they are stored in: f32, f16 or bf16 (two per u32),
// NF4 with a float32 absmax, or NF4 with bitsandbytes' double-quantized absmax. The matmul and
// embedding kernels decode them as they load (shaders/weight_*.wgsl).

import type { GpuContext } from './context';
import { uploadBuffer } from './context';
import type { WeightFormat } from './shaders';
import type { Nf4Weight } from '../quant/nf4';

export interface GpuWeight {
  readonly format: WeightFormat;
  readonly rows: number; // out features (vocab for an embedding)
  readonly cols: number; // in features (hidden for an embedding)
  readonly buffers: readonly GPUBuffer[]; // bound at 4, 5, ... in this order
  readonly blocksize: number; // NF4 block (64)
  readonly nestedBlocksize: number; // double-quant block (256)
  readonly offset: number; // double-quant mean
  readonly bytes: number;
}

export type HostWeight =
  | { format: 'f32'; rows: number; cols: number; data: Float32Array }
  | { format: 'f16' | 'bf16'; rows: number; cols: number; data: Uint16Array }
  | { format: 'nf4'; rows: number; cols: number; data: Nf4Weight };

export function uploadWeight(ctx: GpuContext, w: HostWeight, label: string): GpuWeight {
  const base = { rows: w.rows, cols: w.cols, blocksize: 64, nestedBlocksize: 256, offset: 0 };
  if (w.format !== 'nf4') {
    const buf = uploadBuffer(ctx, w.data, label);
    return { ...base, format: w.format, buffers: [buf], bytes: buf.size };
  }
  const q: Nf4Weight = w.data;
  const packed = uploadBuffer(ctx, q.packed, `${label}.nf4`);
  if (q.absmax instanceof Float32Array) {
    const absmax = uploadBuffer(ctx, q.absmax, `${label}.absmax`);
    return { ...base, format: 'nf4', blocksize: q.blocksize, buffers: [packed, absmax], bytes: packed.size + absmax.size };
  }
  const a = q.absmax;
  const codes = uploadBuffer(ctx, a.codes, `${label}.absmax_codes`);
  const nested = uploadBuffer(ctx, a.nestedAbsmax, `${label}.nested_absmax`);
  const code8 = uploadBuffer(ctx, a.code, `${label}.nested_code`);
  return {
    ...base,
    format: 'nf4dq',
    blocksize: q.blocksize,
    nestedBlocksize: a.nestedBlocksize,
    offset: a.offset,
    buffers: [packed, codes, nested, code8],
    bytes: packed.size + codes.size + nested.size + code8.size,
  };
}

export function destroyWeight(ctx: GpuContext, w: GpuWeight): void {
  for (const b of w.buffers) ctx.destroyBuffer(b);
}
