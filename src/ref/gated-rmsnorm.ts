// CPU reference for shaders/gated_rmsnorm_{fwd,bwd}.wgsl: transformers' Qwen3_5RMSNormGated (Gated DeltaNet's
// output norm), f64: y = x·rsqrt(mean(x²) + eps)·w·silu(z) per row of D (a value head), plain weight w.
import type { Arr } from './matmul';
import { refRmsnormBwd, refRmsnormFwd } from './rmsnorm';

function silu(z: number): { value: number; slope: number } {
  const s = 1 / (1 + Math.exp(-z));
  return { value: z * s, slope: s * (1 + z * (1 - s)) };
}

export function refGatedRmsnormFwd(x: Arr, z: Arr, w: Arr, rows: number, D: number, eps: number): { y: Float64Array; rstd: Float64Array } {
  const { y: n, rstd } = refRmsnormFwd(x, w, rows, D, eps);
  return { y: n.map((v, i) => v * silu(z[i]).value), rstd };
}

/** dx and dz (the weight is frozen: no dw). */
export function refGatedRmsnormBwd(dy: Arr, x: Arr, z: Arr, w: Arr, rows: number, D: number, eps: number): { dx: Float64Array; dz: Float64Array } {
  const { y: n } = refRmsnormFwd(x, w, rows, D, eps);
  const dn = Float64Array.from(dy, (d, i) => d * silu(z[i]).value);
  const dz = Float64Array.from(dy, (d, i) => d * n[i] * silu(z[i]).slope);
  return { dx: refRmsnormBwd(dn, x, w, rows, D, eps), dz };
}
