// CPU reference for shaders/rmsnorm_{fwd,bwd}.wgsl (HF LlamaRMSNorm; wOffset 1: Gemma3RMSNorm's x·(1 + w)), f64.
import type { Arr } from './matmul';

export function refRmsnormFwd(x: Arr, w: Arr, rows: number, D: number, eps: number, wOffset = 0): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * D);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < D; c++) s += x[r * D + c] ** 2;
    const rs = 1 / Math.sqrt(s / D + eps);
    rstd[r] = rs;
    for (let c = 0; c < D; c++) y[r * D + c] = (wOffset + w[c]) * x[r * D + c] * rs;
  }
  return { y, rstd };
}

export function refRmsnormBwd(dy: Arr, x: Arr, w: Arr, rows: number, D: number, eps: number, wOffset = 0): Float64Array {
  const { rstd } = refRmsnormFwd(x, w, rows, D, eps, wOffset);
  const dx = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < D; c++) s += (wOffset + w[c]) * dy[r * D + c] * x[r * D + c];
    const rs = rstd[r];
    const k = (s * rs ** 3) / D;
    for (let c = 0; c < D; c++) dx[r * D + c] = rs * (wOffset + w[c]) * dy[r * D + c] - x[r * D + c] * k;
  }
  return dx;
}
