// CPU reference for shaders/attention_*.wgsl: causal GQA softmax attention and its backward, f64,
// optionally over a sliding window (query t sees keys j with t - window < j ≤ t) and with soft-capped
// scores (s ← softcap·tanh(s / softcap)).
// Layouts: q/o [B*T, H*d]; k/v [B*T, Hkv*d]; lse [B, H, T].
// `magnitudes`: the same sums over |terms| instead (o = Σ p|v|, dq = scale Σ |ds||k|, dk = scale Σ |ds||q|,
// dv = Σ p|dO|), which bound what rounding one factor of every term by a relative u can change: u × them
// (the tolerance of the tensor-core kernels, whose P and dS are f16; test/attention-mma.test.ts).
import type { Arr } from './matmul';

export interface RefAttnDims {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  d: number;
  scale: number;
  window?: number;
  softcap?: number;
}

/** Whether query t sees key j. */
function visible(a: RefAttnDims, t: number, j: number): boolean {
  return j <= t && (!a.window || t - j < a.window);
}

/** The score of query t and key j after the scale and the soft cap, and ds'/ds. */
function score(q: Arr, k: Arr, a: RefAttnDims, b: number, h: number, t: number, j: number): { s: number; slope: number } {
  const { T, H, Hkv, d, scale } = a;
  const hk = Math.floor(h / (H / Hkv));
  let dot = 0;
  for (let i = 0; i < d; i++) dot += q[(b * T + t) * H * d + h * d + i] * k[(b * T + j) * Hkv * d + hk * d + i];
  const s = dot * scale;
  if (!a.softcap) return { s, slope: 1 };
  const y = Math.tanh(s / a.softcap);
  return { s: a.softcap * y, slope: 1 - y * y };
}

/** Softmax over the keys query t sees (0 for the others), and its log-normaliser. */
function probs(q: Arr, k: Arr, a: RefAttnDims, b: number, h: number, t: number): { p: Float64Array; lse: number } {
  const s = new Float64Array(t + 1);
  let m = -Infinity;
  for (let j = 0; j <= t; j++) {
    if (!visible(a, t, j)) continue;
    s[j] = score(q, k, a, b, h, t, j).s;
    m = Math.max(m, s[j]);
  }
  let z = 0;
  for (let j = 0; j <= t; j++) if (visible(a, t, j)) z += Math.exp(s[j] - m);
  const p = new Float64Array(t + 1);
  for (let j = 0; j <= t; j++) p[j] = visible(a, t, j) ? Math.exp(s[j] - m) / z : 0;
  return { p, lse: m + Math.log(z) };
}

const identity = (x: number) => x;

export function refAttentionFwd(q: Arr, k: Arr, v: Arr, a: RefAttnDims, magnitudes = false): { o: Float64Array; lse: Float64Array } {
  const { B, T, H, Hkv, d } = a;
  const f = magnitudes ? Math.abs : identity;
  const o = new Float64Array(B * T * H * d);
  const lse = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      for (let t = 0; t < T; t++) {
        const { p, lse: l } = probs(q, k, a, b, h, t);
        for (let i = 0; i < d; i++) {
          let acc = 0;
          for (let j = 0; j <= t; j++) acc += p[j] * f(v[(b * T + j) * Hkv * d + hk * d + i]);
          o[(b * T + t) * H * d + h * d + i] = acc;
        }
        lse[(b * H + h) * T + t] = l;
      }
    }
  return { o, lse };
}

export function refAttentionBwd(dO: Arr, q: Arr, k: Arr, v: Arr, a: RefAttnDims, magnitudes = false): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, T, H, Hkv, d, scale } = a;
  const f = magnitudes ? Math.abs : identity;
  const dq = new Float64Array(B * T * H * d);
  const dk = new Float64Array(B * T * Hkv * d);
  const dv = new Float64Array(B * T * Hkv * d);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      for (let t = 0; t < T; t++) {
        const { p } = probs(q, k, a, b, h, t);
        const qo = (b * T + t) * H * d + h * d;
        const dp = new Float64Array(t + 1);
        let D = 0;
        for (let j = 0; j <= t; j++) {
          const ko = (b * T + j) * Hkv * d + hk * d;
          for (let i = 0; i < d; i++) dp[j] += dO[qo + i] * v[ko + i];
          D += p[j] * dp[j];
        }
        for (let j = 0; j <= t; j++) {
          const ko = (b * T + j) * Hkv * d + hk * d;
          const ds = f(p[j] === 0 ? 0 : p[j] * (dp[j] - D) * score(q, k, a, b, h, t, j).slope);
          for (let i = 0; i < d; i++) {
            dq[qo + i] += ds * f(k[ko + i]) * scale;
            dk[ko + i] += ds * f(q[qo + i]) * scale;
            dv[ko + i] += p[j] * f(dO[qo + i]);
          }
        }
      }
    }
  return { dq, dk, dv };
}

const F16_UNIT_ROUNDOFF = 2 ** -11;
const F32_UNIT_ROUNDOFF = 2 ** -24;

/**
 * How far the tensor-core kernels (src/gpu/attention/) may be, per element, from this reference run on
 * their f16-rounded q, k, v and dO: they round P (forward and dV) and dS (dQ, dK) to f16 too, which moves
 * each term of a sum by at most 2⁻¹¹ of its magnitude, and sum n terms in f32 (n·2⁻²⁴ of the magnitudes).
 * n: the keys a query sums over (o, dq) and the (t, g) rows a key sums over (dk, dv). The backward's bound
 * assumes the reference o and lse as its inputs.
 */
export function refAttentionF16Bounds(dO: Arr, q: Arr, k: Arr, v: Arr, a: RefAttnDims): { o: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const keys = a.window || a.T;
  const rows = (a.H / a.Hkv) * keys;
  const scaled = (m: Float64Array, n: number) => m.map((x) => (F16_UNIT_ROUNDOFF + n * F32_UNIT_ROUNDOFF) * x);
  const fwd = refAttentionFwd(q, k, v, a, true);
  const bwd = refAttentionBwd(dO, q, k, v, a, true);
  return { o: scaled(fwd.o, keys), dq: scaled(bwd.dq, keys), dk: scaled(bwd.dk, rows), dv: scaled(bwd.dv, rows) };
}
