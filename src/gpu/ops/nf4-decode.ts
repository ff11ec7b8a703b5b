// Wrapper of shaders/nf4_decode_f16.wgsl, the bounded scratch it decodes into, and the frozen linears
// that read it: W (NF4, with or without double quantization) is decoded once per use into f16, two
// halves per u32, and the product reads the scratch as an f16 weight (weight_f16.wgsl) instead of
// dequantizing every element in every tile. The values are those of src/quant/nf4.ts rounded to the
// nearest f16 (dequantizeNf4F16, the reference of test/nf4-decode-f16.test.ts).
//
// The scratch holds the largest NF4 projection whole (2 bytes a weight: 112 MiB for Llama-3-8B's MLP,
// 32 MiB for Llama-3.2-1B), not a chunk of rows: each product then runs once over the whole weight,
// as on the in-tile path (the same grid and order of accumulation along K), where row chunks would
// split every product into several dispatches, and the input gradient dx = dy·W (K = rows) into a sum
// of partial products in another order. One scratch serves every layer: the queue runs a decode only
// after the product before it has read the previous weight.
import type { GpuContext } from '../context';
import { STORAGE } from '../context';
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import type { GpuWeight } from '../weight';
import { dummyBuffer, threads } from './common';
import type { MatmulOptions } from './matmul';
import { linearBwd, linearFwd } from './matmul';
import { QloraError } from '../../errors';

export const isNf4 = (w: GpuWeight): boolean => w.format === 'nf4' || w.format === 'nf4dq';

/** Bytes of the packed f16 form of n weights (two per u32, an odd last one padded). */
export const f16PackedBytes = (n: number): number => Math.ceil(n / 2) * 4;

/**
 * out[u32, ceil(rows·cols / 2)] = the f16 bits of rows [rowStart, rowEnd) of the NF4 weight w,
 * row-major, two per u32 (element 2i in the low half).
 */
export function nf4DecodeF16(rec: Recorder, out: Binding, w: GpuWeight, rowStart = 0, rowEnd = w.rows): void {
  if (!isNf4(w)) throw new Error(`nf4DecodeF16: an NF4 weight, got ${w.format}`);
  if (!(Number.isInteger(rowStart) && Number.isInteger(rowEnd) && rowStart >= 0 && rowStart <= rowEnd && rowEnd <= w.rows)) {
    throw new Error(`nf4DecodeF16: rows [${rowStart}, ${rowEnd}) of a weight with ${w.rows}`);
  }
  const count = (rowEnd - rowStart) * w.cols;
  const words = Math.ceil(count / 2);
  const dq = w.format === 'nf4dq';
  const dummy = dummyBuffer(rec.ctx);
  const [packed, absmax, nested, code8] = w.buffers;
  rec.dispatch(
    KERNELS.nf4DecodeF16,
    new Params()
      .u32(rowStart * w.cols).u32(count).u32(words)
      .u32(w.blocksize).u32(w.nestedBlocksize).f32(w.offset)
      .u32(dq ? 1 : 0).u32(0),
    [out, packed, absmax, dq ? nested : dummy, dq ? code8 : dummy],
    threads(rec.ctx, words),
  );
}

/** An f16 weight [rows, cols] held in `buffer` (two per u32), as the products bind it. */
export function f16WeightView(buffer: GPUBuffer, rows: number, cols: number): GpuWeight {
  return { format: 'f16', rows, cols, buffers: [buffer], blocksize: 64, nestedBlocksize: 256, offset: 0, bytes: f16PackedBytes(rows * cols) };
}

/** The most weights of one NF4 projection among `weights` (0 when none is NF4): what the scratch must hold. */
export function nf4ScratchElements(weights: Iterable<GpuWeight>): number {
  let n = 0;
  for (const w of weights) if (isNf4(w)) n = Math.max(n, w.rows * w.cols);
  return n;
}

/** One f16 buffer every NF4 projection of a pass is decoded into before its product reads it. */
export class Nf4F16Scratch {
  readonly buffer: GPUBuffer;

  /** `buffer`: one allocated for it already (a pass's buffer plan, engine/decoder-layer.ts nf4ScratchPlan); else one is created. */
  constructor(ctx: GpuContext, readonly elements: number, buffer?: GPUBuffer) {
    const bytes = f16PackedBytes(elements);
    if (bytes > ctx.limits.maxStorageBufferBindingSize) {
      throw new QloraError(
        'ADAPTER_LIMITS',
        `The f16 scratch for the largest NF4 projection (${elements} weights) needs ${bytes} bytes in one binding; this GPU binds ` +
          `${ctx.limits.maxStorageBufferBindingSize}. Run with nf4Decode 'in-tile' (the products dequantize in their tiles).`,
      );
    }
    if (buffer && buffer.size < bytes) throw new Error(`Nf4F16Scratch: a buffer of ${buffer.size} bytes for ${elements} weights (${bytes} bytes)`);
    this.buffer = buffer ?? ctx.createBuffer(bytes, STORAGE, 'nf4_f16_scratch');
  }

  /** Records the decode of w into the scratch and returns the f16 view the product binds; other formats pass through. */
  decode(rec: Recorder, w: GpuWeight): GpuWeight {
    if (!isNf4(w)) return w;
    const n = w.rows * w.cols;
    if (n > this.elements) throw new Error(`Nf4F16Scratch holds ${this.elements} weights, the projection has ${n}`);
    nf4DecodeF16(rec, { buffer: this.buffer, offset: 0, size: f16PackedBytes(n) }, w);
    return f16WeightView(this.buffer, w.rows, w.cols);
  }

  destroy(ctx: GpuContext): void {
    ctx.destroyBuffer(this.buffer);
  }
}

/** y[M, rows] = x[M, cols]·Wᵀ (+ bias) (+ beta·y) with W decoded into the scratch first (NF4 only). */
export function linearFwdDecoded(
  rec: Recorder, scratch: Nf4F16Scratch, y: Binding, x: Binding, w: GpuWeight, M: number, o: Omit<MatmulOptions, 'transA' | 'transB' | 'ldb'> = {},
): void {
  linearFwd(rec, y, x, scratch.decode(rec, w), M, o);
}

/** dx[M, cols] = dy[M, rows]·W (+ beta·dx) with W decoded into the scratch first (NF4 only). */
export function linearBwdDecoded(rec: Recorder, scratch: Nf4F16Scratch, dx: Binding, dy: Binding, w: GpuWeight, M: number, o: { beta?: number; alpha?: number } = {}): void {
  linearBwd(rec, dx, dy, scratch.decode(rec, w), M, o);
}
