// The trainable LoRA state on the GPU: parameters, gradients and AdamW moments, each one flat buffer
// laid out by LoraLayout, with bindings for one slot's A or B.
import type { GpuContext } from '../gpu/context';
import { readF32, writeBuffer } from '../gpu/context';
import type { PlannedBuffer } from './buffer-plan';
import { allocPlan } from './buffer-plan';
import type { Binding } from '../gpu/program';
import type { LoraLayout, LoraSlot } from './lora';

export interface GpuLora {
  readonly layout: LoraLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
}

/** The adapter's parameters and their gradients: one flat buffer each of n floats (LoraLayout.totalFloats). */
export function loraParamsPlan(n: number): PlannedBuffer[] {
  return [{ name: 'params', floats: n, group: 'LoRA parameters' }, { name: 'grads', floats: n, group: 'LoRA gradients' }];
}

/** AdamW's moments m and v of n parameters. */
export function adamMomentsPlan(n: number): PlannedBuffer[] {
  return [{ name: 'm', floats: n, group: 'AdamW moments (m, v)' }, { name: 'v', floats: n, group: 'AdamW moments (m, v)' }];
}

export function createGpuLora(ctx: GpuContext, layout: LoraLayout, params: Float32Array): GpuLora {
  const n = layout.totalFloats;
  const b = allocPlan(ctx, [...loraParamsPlan(n), ...adamMomentsPlan(n)], 'lora');
  const lora = { layout, params: b.params, grads: b.grads, m: b.m, v: b.v };
  writeBuffer(ctx, lora.params, 0, params);
  return lora; // fresh buffers are zero: grads and moments start at 0
}

export function destroyGpuLora(ctx: GpuContext, l: GpuLora): void {
  for (const b of [l.params, l.grads, l.m, l.v]) ctx.destroyBuffer(b);
}

/** Binding of A [r, in] (which = 'A') or B [out, r] of `slot` inside `buffer` (params, grads, ...). */
export function slotBinding(layout: LoraLayout, buffer: GPUBuffer, slot: LoraSlot, which: 'A' | 'B'): Binding {
  const r = layout.settings.r;
  return which === 'A'
    ? { buffer, offset: slot.aOffset * 4, size: r * slot.inF * 4 }
    : { buffer, offset: slot.bOffset * 4, size: slot.outF * r * 4 };
}

export async function readLoraParams(ctx: GpuContext, l: GpuLora): Promise<Float32Array> {
  return readF32(ctx, l.params, 0, l.layout.totalFloats);
}

export async function readLoraGrads(ctx: GpuContext, l: GpuLora): Promise<Float32Array> {
  return readF32(ctx, l.grads, 0, l.layout.totalFloats);
}

export interface OptimizerState {
  m: Float32Array;
  v: Float32Array;
}

export async function readOptimizerState(ctx: GpuContext, l: GpuLora): Promise<OptimizerState> {
  const [m, v] = await Promise.all([readF32(ctx, l.m, 0, l.layout.totalFloats), readF32(ctx, l.v, 0, l.layout.totalFloats)]);
  return { m, v };
}

export function writeOptimizerState(ctx: GpuContext, l: GpuLora, s: OptimizerState): void {
  writeBuffer(ctx, l.m, 0, s.m);
  writeBuffer(ctx, l.v, 0, s.v);
}

export function writeLoraParams(ctx: GpuContext, l: GpuLora, params: Float32Array): void {
  writeBuffer(ctx, l.params, 0, params);
}
