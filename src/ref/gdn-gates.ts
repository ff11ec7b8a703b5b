// CPU reference for shaders/gdn_gates_{fwd,bwd}.wgsl: Gated DeltaNet's g = −exp(A_log)·softplus(a + dt_bias)
// and beta = sigmoid(b) per (token, value head), f64, softplus as torch's (threshold 20).
import type { Arr } from './matmul';

const softplus = (u: number): number => (u > 20 ? u : Math.log1p(Math.exp(u)));
const sigmoid = (u: number): number => 1 / (1 + Math.exp(-u));

/** g and beta [rows, Hv] from a, b [rows, Hv], A_log and dt_bias [Hv]. */
export function refGdnGatesFwd(a: Arr, b: Arr, aLog: Arr, dtBias: Arr, rows: number, Hv: number): { g: Float64Array; beta: Float64Array } {
  const g = new Float64Array(rows * Hv);
  const beta = new Float64Array(rows * Hv);
  for (let i = 0; i < rows * Hv; i++) {
    const h = i % Hv;
    g[i] = -Math.exp(aLog[h]) * softplus(a[i] + dtBias[h]);
    beta[i] = sigmoid(b[i]);
  }
  return { g, beta };
}

export function refGdnGatesBwd(dg: Arr, dbeta: Arr, a: Arr, b: Arr, aLog: Arr, dtBias: Arr, rows: number, Hv: number): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array(rows * Hv);
  const db = new Float64Array(rows * Hv);
  for (let i = 0; i < rows * Hv; i++) {
    const h = i % Hv;
    const u = a[i] + dtBias[h];
    da[i] = -dg[i] * Math.exp(aLog[h]) * (u > 20 ? 1 : sigmoid(u));
    const s = sigmoid(b[i]);
    db[i] = dbeta[i] * s * (1 - s);
  }
  return { da, db };
}
