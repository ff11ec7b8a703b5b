// A GpuContext on whatever Dawn finds (SwiftShader on CI), shared by the tests of one file, plus
// upload/readback shorthands.
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../../src/io/node-gpu';
import { createGpuContext, uploadBuffer, readF32, STORAGE } from '../../src/gpu/context';
import type { GpuContext } from '../../src/gpu/context';
import type { GemmBackend } from '../../src/gpu/gemm/config';
import { runOnce } from '../../src/gpu/program';
import type { Recorder } from '../../src/gpu/program';

let ctxPromise: Promise<GpuContext> | undefined;

export function gpu(): Promise<GpuContext> {
  if (!ctxPromise) {
    useSoftwareAdapterIfNoDriver();
    // The kernel and golden tests hold f32 tolerances, so their products run on the exact `scalar` back end
    // wherever they run (a GPU with tensor cores would pick f16 operands); QLORA_TEST_GEMM picks another.
    const gemm = (process.env.QLORA_TEST_GEMM as GemmBackend | undefined) ?? 'scalar';
    ctxPromise = nodeAdapter().then((a) => createGpuContext(a, { gemm }));
  }
  return ctxPromise;
}

export function f32buf(ctx: GpuContext, data: ArrayLike<number>, label = 'test'): GPUBuffer {
  return uploadBuffer(ctx, Float32Array.from(data), label);
}

export function u32buf(ctx: GpuContext, data: ArrayLike<number>, label = 'test'): GPUBuffer {
  return uploadBuffer(ctx, Uint32Array.from(data), label);
}

export function i32buf(ctx: GpuContext, data: ArrayLike<number>, label = 'test'): GPUBuffer {
  return uploadBuffer(ctx, Int32Array.from(data), label);
}

export function emptyBuf(ctx: GpuContext, floats: number, label = 'test'): GPUBuffer {
  return ctx.createBuffer(floats * 4, STORAGE, label);
}

/** Records with `body`, submits, and reads back the given buffers as f32. */
export async function run(ctx: GpuContext, body: (rec: Recorder) => void, ...outs: GPUBuffer[]): Promise<Float32Array[]> {
  ctx.device.pushErrorScope('validation');
  runOnce(ctx, 'test', body);
  const err = await ctx.device.popErrorScope();
  if (err) throw new Error(`WebGPU validation: ${err.message}`);
  return Promise.all(outs.map((b) => readF32(ctx, b)));
}
