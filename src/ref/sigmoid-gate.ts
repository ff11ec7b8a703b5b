// CPU reference for shaders/q_gate_split.wgsl and shaders/sigmoid_gate_{fwd,bwd}.wgsl: Qwen3.5's gated full
// attention, f64. q_proj's output qg [rows, H, 2·hd] holds per head hd query values then hd gate values
// (transformers: q_proj(x).view(..., -1, 2·hd).chunk(2, -1)); the attention output a [rows, H·hd] is multiplied
// by sigmoid(gate).
import type { Arr } from './matmul';

/** The query and gate halves of qg, each [rows, H·hd]. */
export function refQGateSplit(qg: Arr, rows: number, H: number, hd: number): { q: Float64Array; gate: Float64Array } {
  const q = new Float64Array(rows * H * hd);
  const gate = new Float64Array(rows * H * hd);
  for (let rh = 0; rh < rows * H; rh++) {
    for (let i = 0; i < hd; i++) {
      q[rh * hd + i] = qg[rh * 2 * hd + i];
      gate[rh * hd + i] = qg[rh * 2 * hd + hd + i];
    }
  }
  return { q, gate };
}

/** qg from its halves (the backward: dq and dgate into d(q_proj output)). */
export function refQGateJoin(q: Arr, gate: Arr, rows: number, H: number, hd: number): Float64Array {
  const qg = new Float64Array(rows * H * 2 * hd);
  for (let rh = 0; rh < rows * H; rh++) {
    for (let i = 0; i < hd; i++) {
      qg[rh * 2 * hd + i] = q[rh * hd + i];
      qg[rh * 2 * hd + hd + i] = gate[rh * hd + i];
    }
  }
  return qg;
}

const sigmoid = (g: number): number => 1 / (1 + Math.exp(-g));

export function refSigmoidGateFwd(a: Arr, gate: Arr): Float64Array {
  return Float64Array.from(a, (v, i) => v * sigmoid(gate[i]));
}

export function refSigmoidGateBwd(dy: Arr, a: Arr, gate: Arr): { da: Float64Array; dgate: Float64Array } {
  const da = Float64Array.from(dy, (d, i) => d * sigmoid(gate[i]));
  const dgate = Float64Array.from(dy, (d, i) => {
    const s = sigmoid(gate[i]);
    return d * a[i] * s * (1 - s);
  });
  return { da, dgate };
}
