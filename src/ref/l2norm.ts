// CPU reference for shaders/l2norm_{fwd,bwd}.wgsl: transformers' l2norm (x·rsqrt(Σx² + eps), eps 1e-6 in code)
// per head of D values, f64. x [rows, heads·D] (packed; the kernels also read heads inside wider rows).
import type { Arr } from './matmul';

/** transformers' l2norm eps for Gated DeltaNet's q and k (fixed in modeling_qwen3_5.py, not a config field). */
export const L2NORM_EPS = 1e-6;

export function refL2normFwd(x: Arr, rows: number, D: number, eps = L2NORM_EPS): Float64Array {
  const y = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < D; i++) s += x[r * D + i] ** 2;
    const inv = 1 / Math.sqrt(s + eps);
    for (let i = 0; i < D; i++) y[r * D + i] = x[r * D + i] * inv;
  }
  return y;
}

/** dx = r·dy − r³·x·(x·dy) per row of D. */
export function refL2normBwd(dy: Arr, x: Arr, rows: number, D: number, eps = L2NORM_EPS): Float64Array {
  const dx = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    let xd = 0;
    for (let i = 0; i < D; i++) {
      s += x[r * D + i] ** 2;
      xd += x[r * D + i] * dy[r * D + i];
    }
    const inv = 1 / Math.sqrt(s + eps);
    for (let i = 0; i < D; i++) dx[r * D + i] = inv * dy[r * D + i] - inv ** 3 * x[r * D + i] * xd;
  }
  return dx;
}
