// Helpers shared by the op wrappers: binding sizes, 2D grids for long 1D dispatches, a dummy buffer
// for optional bindings (WebGPU has no null binding).
import type { GpuContext } from '../context';
import { STORAGE } from '../context';
import type { Binding } from '../program';
import { grid1d } from '../program';

const dummies = new WeakMap<GpuContext, GPUBuffer>();

/** A 16-byte storage buffer bound where a kernel's optional input is absent. */
export function dummyBuffer(ctx: GpuContext): GPUBuffer {
  let b = dummies.get(ctx);
  if (!b) {
    b = ctx.createBuffer(16, STORAGE, 'dummy');
    dummies.set(ctx, b);
  }
  return b;
}

/** Grid for `n` threads in workgroups of `wg`. */
export function threads(ctx: GpuContext, n: number, wg = 256): [number, number] {
  return grid1d(ctx, Math.ceil(n / wg));
}

/** Grid with one workgroup per item. */
export function perItem(ctx: GpuContext, n: number): [number, number] {
  return grid1d(ctx, n);
}

export function bufferOf(b: Binding): GPUBuffer {
  return 'buffer' in b ? b.buffer : b;
}
