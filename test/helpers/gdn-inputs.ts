// Inputs of the gated delta rule tests (test/gated-delta-rule.test.ts, test/gdn-recurrent.test.ts): q, k, v,
// g, beta as the reference takes them, and q, k, v packed as the kernels read them (the conv output's rows).
import type { GdnInputs, GdnShape } from '../../src/ref/gated-delta-rule';
import { randomF32 } from './compare';

/**
 * q, k unit rows (as after l2norm), beta in (0, 1), g per value head: even heads decay slowly (0.95..0.999 a
 * token, so the state crosses chunk boundaries), odd heads span the fixture's 0.99..0.02.
 */
export function gdnInputs(s: GdnShape, seed: number): GdnInputs {
  const unit = (x: Float32Array, d: number): Float32Array => {
    for (let r = 0; r < x.length / d; r++) {
      let n = 0;
      for (let i = 0; i < d; i++) n += x[r * d + i] ** 2;
      for (let i = 0; i < d; i++) x[r * d + i] = Math.fround(x[r * d + i] / Math.sqrt(n));
    }
    return x;
  };
  const rows = s.B * s.T;
  return {
    q: unit(randomF32(rows * s.Hk * s.dk, seed), s.dk),
    k: unit(randomF32(rows * s.Hk * s.dk, seed + 1), s.dk),
    v: randomF32(rows * s.Hv * s.dv, seed + 2),
    g: Float32Array.from(randomF32(rows * s.Hv, seed + 3), (u, i) =>
      i % s.Hv % 2 === 0 ? Math.log(0.95) + (u + 1) * 0.5 * (Math.log(0.999) - Math.log(0.95)) : Math.log(0.02) + (u + 1) * 0.5 * (Math.log(0.99) - Math.log(0.02))),
    beta: randomF32(rows * s.Hv, seed + 4, 0.05, 0.95),
  };
}

/** Packs q, k, v into the conv output's layout [B, T, stride] (q heads, k heads, v heads, then padding). */
export function packQkv(inp: GdnInputs, s: GdnShape, stride: number): Float32Array {
  const out = new Float32Array(s.B * s.T * stride).fill(7); // padding columns must stay untouched
  const qk = s.Hk * s.dk;
  const vw = s.Hv * s.dv;
  for (let r = 0; r < s.B * s.T; r++) {
    for (let e = 0; e < qk; e++) {
      out[r * stride + e] = inp.q[r * qk + e];
      out[r * stride + qk + e] = inp.k[r * qk + e];
    }
    for (let e = 0; e < vw; e++) out[r * stride + 2 * qk + e] = inp.v[r * vw + e];
  }
  return out;
}

