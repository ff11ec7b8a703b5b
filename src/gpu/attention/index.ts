// The tensor-core attention kernels' sources: the generator of each kernel (fwd.ts, bwd-dq.ts, bwd-dkv.ts)
// on the hardware or the emulated primitives of the GEMM (src/gpu/gemm/primitives.ts), cached per tiling.
// src/gpu/shaders.ts prepends the soft-cap snippet; src/gpu/ops/attention.ts decides when they run.
import type { GemmVariant } from '../gemm/config';
import { emulatedPrimitives, hardwarePrimitives } from '../gemm/primitives';
import type { AttentionTiles } from './tiles';
import { attentionFwdBody } from './fwd';
import { attentionBwdDqBody } from './bwd-dq';
import { attentionBwdDkvBody } from './bwd-dkv';

export interface AttentionSource {
  /** enable/diagnostic directives: must open the module. */
  readonly directives: string;
  readonly body: string;
}

const BODIES = { fwd: attentionFwdBody, dq: attentionBwdDqBody, dkv: attentionBwdDkvBody } as const;
const cache = new Map<string, AttentionSource>();

export function attentionMmaSource(v: GemmVariant, t: AttentionTiles): AttentionSource {
  if (v.backend !== 'subgroup-matrix' && v.backend !== 'subgroup-matrix-emulated') {
    throw new Error(`tensor-core attention: back end '${v.backend}' has no subgroup matrices (expected subgroup-matrix or its emulation)`);
  }
  const key = `${t.kernel}/${v.backend}/${v.frag.M}x${v.frag.N}x${v.frag.K}/${v.subgroupSize}/${t.subgroups}/${t.inner}/${t.D}`;
  let s = cache.get(key);
  if (!s) {
    const p = v.backend === 'subgroup-matrix' ? hardwarePrimitives(v) : emulatedPrimitives(v);
    s = { directives: p.directives, body: BODIES[t.kernel](v, p, t) };
    cache.set(key, s);
  }
  return s;
}

export * from './tiles';
