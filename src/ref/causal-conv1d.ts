// CPU reference for shaders/causal_conv1d_{fwd,bwd,step}.wgsl: Gated DeltaNet's depthwise causal conv1d with
// SiLU (transformers' causal_conv1d_fn / causal_conv1d_update: F.conv1d with groups = channels, padding K − 1,
// the first T outputs), f64. x [B, T, Ch] token-major, w [Ch, K] (conv1d.weight [Ch, 1, K]), zero history:
//   a[t, c] = Σ_k w[c, k]·x[t − (K − 1) + k, c],  y = silu(a)
import type { Arr } from './matmul';

function sigmoid(a: number): number {
  return 1 / (1 + Math.exp(-a));
}

/** Pre-activations a [B, T, Ch]. */
function preActivation(x: Arr, w: Arr, B: number, T: number, Ch: number, K: number): Float64Array {
  const a = new Float64Array(B * T * Ch);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < Ch; c++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const src = t - (K - 1) + k;
          if (src >= 0) acc += w[c * K + k] * x[(b * T + src) * Ch + c];
        }
        a[(b * T + t) * Ch + c] = acc;
      }
    }
  }
  return a;
}

export function refCausalConv1dFwd(x: Arr, w: Arr, B: number, T: number, Ch: number, K: number): Float64Array {
  return preActivation(x, w, B, T, Ch, K).map((a) => a * sigmoid(a));
}

/** dx [B, T, Ch] from dy (the weight is frozen: no dw). */
export function refCausalConv1dBwd(dy: Arr, x: Arr, w: Arr, B: number, T: number, Ch: number, K: number): Float64Array {
  const da = preActivation(x, w, B, T, Ch, K).map((a, i) => {
    const s = sigmoid(a);
    return dy[i] * s * (1 + a * (1 - s));
  });
  const dx = new Float64Array(B * T * Ch);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < Ch; c++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const dst = t + (K - 1) - k;
          if (dst < T) acc += w[c * K + k] * da[(b * T + dst) * Ch + c];
        }
        dx[(b * T + t) * Ch + c] = acc;
      }
    }
  }
  return dx;
}

/**
 * One generation step: x1 [B, Ch] after the K − 1 inputs in state [B, K − 1, Ch] (oldest first); returns y [B, Ch]
 * and the state shifted by one (x1 last), as causal_conv1d_update.
 */
export function refCausalConv1dStep(state: Arr, x1: Arr, w: Arr, B: number, Ch: number, K: number): { y: Float64Array; state: Float64Array } {
  const y = new Float64Array(B * Ch);
  const next = new Float64Array(B * (K - 1) * Ch);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < Ch; c++) {
      const window = [...Array.from({ length: K - 1 }, (_, k) => state[(b * (K - 1) + k) * Ch + c]), x1[b * Ch + c]];
      let a = 0;
      for (let k = 0; k < K; k++) a += w[c * K + k] * window[k];
      y[b * Ch + c] = a * sigmoid(a);
      for (let k = 0; k < K - 1; k++) next[(b * (K - 1) + k) * Ch + c] = window[k + 1];
    }
  }
  return { y, state: next };
}
