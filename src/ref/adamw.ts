// CPU reference for shaders/adamw.wgsl: torch clip_grad_norm_ + torch.optim.AdamW (one step), f64.
import type { Arr } from './matmul';

export interface RefAdamWState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
  t: number; // steps taken
}

export interface RefAdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

export function refGradNorm(g: Arr): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

export function refAdamWStep(s: RefAdamWState, g: Arr, h: RefAdamWHyper): void {
  s.t += 1;
  const coef = h.maxGradNorm > 0 ? Math.min(1, h.maxGradNorm / (refGradNorm(g) + 1e-6)) : 1;
  const bc1 = 1 - h.beta1 ** s.t;
  const bc2 = 1 - h.beta2 ** s.t;
  for (let i = 0; i < s.p.length; i++) {
    const gi = g[i] * coef;
    s.p[i] *= 1 - h.lr * h.weightDecay;
    s.m[i] = h.beta1 * s.m[i] + (1 - h.beta1) * gi;
    s.v[i] = h.beta2 * s.v[i] + (1 - h.beta2) * gi * gi;
    s.p[i] -= (h.lr / bc1) * (s.m[i] / (Math.sqrt(s.v[i]) / Math.sqrt(bc2) + h.eps));
  }
}
