// CPU references for shaders/silu_mul_{fwd,bwd}.wgsl and shaders/dropout.wgsl (same hash, bit for bit).
import type { Arr } from './matmul';

export function refSiluMulFwd(g: Arr, u: Arr): Float64Array {
  return Float64Array.from(g, (gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]);
}

export function refSiluMulBwd(da: Arr, g: Arr, u: Arr): { dg: Float64Array; du: Float64Array } {
  const n = g.length;
  const dg = new Float64Array(n);
  const du = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = 1 / (1 + Math.exp(-g[i]));
    dg[i] = da[i] * u[i] * s * (1 + g[i] * (1 - s));
    du[i] = da[i] * g[i] * s;
  }
  return { dg, du };
}

/** PCG hash as in shaders/dropout.wgsl (u32 arithmetic). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Whether element i survives dropout with probability p for (seed, stream). */
export function dropoutKeep(seed: number, stream: number, i: number, p: number): boolean {
  const h = pcgHash((i ^ pcgHash((seed ^ pcgHash(stream)) >>> 0)) >>> 0);
  return (h >>> 8) * (1 / 16777216) >= Math.fround(p); // the shader compares with p as f32
}

export function refDropout(x: Arr, seed: number, stream: number, p: number): Float64Array {
  return Float64Array.from(x, (v, i) => (dropoutKeep(seed, stream, i, p) ? v / (1 - p) : 0));
}
