// CPU reference for shaders/cross_entropy.wgsl: mean cross-entropy over targets != -100, f64; with a
// soft cap the loss is of cap·tanh(logits / cap) and dlogits the gradient of the logits before capping.
import type { Arr } from './matmul';
import { refLogitSoftcap } from './activation';

export function refCrossEntropy(raw: Arr, targets: Arr, rows: number, V: number, softcap?: number): { loss: number; perRow: Float64Array; dlogits: Float64Array; count: number } {
  const logits = softcap ? refLogitSoftcap(raw, softcap) : raw;
  const perRow = new Float64Array(rows);
  const dlogits = new Float64Array(rows * V);
  let count = 0;
  for (let r = 0; r < rows; r++) if (targets[r] >= 0) count++;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t < 0) continue;
    let m = -Infinity;
    for (let c = 0; c < V; c++) m = Math.max(m, logits[r * V + c]);
    let z = 0;
    for (let c = 0; c < V; c++) z += Math.exp(logits[r * V + c] - m);
    const lse = m + Math.log(z);
    perRow[r] = lse - logits[r * V + t];
    total += perRow[r];
    for (let c = 0; c < V; c++) {
      const slope = softcap ? 1 - (logits[r * V + c] / softcap) ** 2 : 1;
      dlogits[r * V + c] = ((Math.exp(logits[r * V + c] - lse) - (c === t ? 1 : 0)) / count) * slope;
    }
  }
  return { loss: total / count, perRow, dlogits, count };
}
