// What a pass allocates, declared as data: each buffer's name and size from the dims and settings.
// The engine allocates from the list and the memory estimate (memory-estimate.ts) sums the same list,
// so a new scratch buffer cannot be allocated without being counted.
import type { GpuContext } from '../gpu/context';
import { STORAGE } from '../gpu/context';

export interface PlannedBuffer {
  /** Name within its plan (the GPU label is `<plan label>.<name>`). */
  readonly name: string;
  /** Size in f32 words: bytes / 4, a fraction for a byte count that is not a whole word (packed NF4 codes). */
  readonly floats: number;
  /** What the memory breakdown groups it under, e.g. 'activations [M, D]'. */
  readonly group: string;
}

/** Memory groups several plans share (MemoryEstimate.breakdown labels, which ui/bars.ts and memory-fixes.ts read). */
export const SHARED_GROUPS = {
  inputs: 'ids, targets, loss rows',
  scalars: 'scalars',
  stream: 'residual stream [M, D]',
  stats: 'norm / softmax statistics',
  finalNorm: 'final norm',
  logits: 'logits chunk [rows, V]',
} as const;

/** GpuContext.createBuffer's rounding: multiples of 4 bytes, at least 4. */
export const plannedBytes = (b: PlannedBuffer): number => Math.max(4, Math.ceil(b.floats) * 4);

/** A buffer of `bytes` bytes (rounded up to whole words when allocated, as every buffer). */
export const bytesBuffer = (name: string, bytes: number, group: string): PlannedBuffer => ({ name, floats: bytes / 4, group });

/** Bytes a plan allocates. */
export const planBytes = (plan: readonly PlannedBuffer[]): number => plan.reduce((a, b) => a + plannedBytes(b), 0);

/** Allocates every buffer of a plan as storage, by name. The caller owns (and destroys) them. */
export function allocPlan(ctx: GpuContext, plan: readonly PlannedBuffer[], label: string): Record<string, GPUBuffer> {
  const out: Record<string, GPUBuffer> = {};
  for (const b of plan) {
    if (out[b.name]) throw new Error(`buffer plan ${label}: "${b.name}" is planned twice`);
    out[b.name] = ctx.createBuffer(plannedBytes(b), STORAGE, `${label}.${b.name}`);
  }
  return out;
}
