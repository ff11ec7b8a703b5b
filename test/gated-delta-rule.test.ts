// shaders/gdn_{chunk,state}_{fwd,bwd}.wgsl (the chunked gated delta rule) against src/ref/gated-delta-rule.ts
// (token by token in f64), whose own gradient is checked by central differences and whose forward is
// checked against transformers' torch_chunk_gated_delta_rule (test/fixtures/gdn-transformers.json,
// made by test/python/gdn_vectors.py).
import { readFileSync } from 'node:fs';
import { describe, it, beforeAll, expect } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { gdnBwd, gdnFwd, gdnLayout, gdnStateIndex } from '../src/gpu/ops/gated-delta-rule';
import type { GdnDims } from '../src/gpu/ops/gated-delta-rule';
import { refGatedDeltaRuleBwd, refGatedDeltaRuleFwd } from '../src/ref/gated-delta-rule';
import type { GdnInputs, GdnShape } from '../src/ref/gated-delta-rule';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { centralDifferences } from './helpers/finite-diff';
import { gdnInputs as inputs, packQkv as pack } from './helpers/gdn-inputs';

describe('gated delta rule reference', () => {
  it('gradients equal central differences (every input and the initial state)', () => {
    const s: GdnShape = { B: 2, T: 4, Hk: 1, Hv: 2, dk: 3, dv: 2 };
    const inp = { ...inputs(s, 11), initialState: randomF32(s.B * s.Hv * s.dk * s.dv, 17) };
    const dO = randomF32(s.B * s.T * s.Hv * s.dv, 12);
    const dFinal = randomF32(s.B * s.Hv * s.dk * s.dv, 13);
    const loss = (x: GdnInputs): number => {
      const { o, finalState } = refGatedDeltaRuleFwd(x, s, 0.7);
      let l = 0;
      o.forEach((v, i) => (l += v * dO[i]));
      finalState.forEach((v, i) => (l += v * dFinal[i]));
      return l;
    };
    const grads = refGatedDeltaRuleBwd(inp, dO, s, 0.7, dFinal);
    const named = { q: grads.dq, k: grads.dk, v: grads.dv, g: grads.dg, beta: grads.dbeta, initialState: grads.dInitialState } as const;
    for (const [name, analytic] of Object.entries(named)) {
      const numeric = centralDifferences((y) => loss({ ...inp, [name]: y }), inp[name as keyof GdnInputs] as ArrayLike<number>);
      expectClose(`d${name}`, analytic, numeric, { atol: 1e-7, rtol: 1e-6 });
    }
  });

  it('forward equals transformers torch_chunk_gated_delta_rule (test/fixtures/gdn-transformers.json)', () => {
    const fx = JSON.parse(readFileSync(new URL('./fixtures/gdn-transformers.json', import.meta.url), 'utf8'));
    const s: GdnShape = fx.shape;
    const { o, finalState } = refGatedDeltaRuleFwd({ q: fx.q, k: fx.k, v: fx.v, g: fx.g, beta: fx.beta }, s, fx.scale);
    expectClose('o vs transformers', o, fx.o, { atol: 1e-5, rtol: 1e-5 });
    expectClose('final state vs transformers', finalState, fx.finalState, { atol: 1e-5, rtol: 1e-5 });
  });
});

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

function unpack(x: Float32Array, s: GdnShape, stride: number): { q: Float32Array; k: Float32Array; v: Float32Array; pad: Float32Array } {
  const qk = s.Hk * s.dk;
  const vw = s.Hv * s.dv;
  const rows = s.B * s.T;
  const q = new Float32Array(rows * qk);
  const k = new Float32Array(rows * qk);
  const v = new Float32Array(rows * vw);
  const pad: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let e = 0; e < qk; e++) {
      q[r * qk + e] = x[r * stride + e];
      k[r * qk + e] = x[r * stride + qk + e];
    }
    for (let e = 0; e < vw; e++) v[r * vw + e] = x[r * stride + 2 * qk + e];
    for (let e = 2 * qk + vw; e < stride; e++) pad.push(x[r * stride + e]);
  }
  return { q, k, v, pad: Float32Array.from(pad) };
}

describe('gated delta rule, chunked on the GPU', () => {
  // [B, T, Hk, Hv, dk, dv, C]: T = 1, C − 1, C, C + 1, 3C + 5; value/key head ratios 1 and 2; dk ≠ dv.
  const cases = [
    [1, 1, 1, 1, 8, 8, 64],
    [1, 63, 1, 2, 24, 16, 64],
    [2, 64, 2, 2, 16, 8, 64],
    [1, 65, 2, 4, 24, 16, 64],
    [1, 197, 1, 2, 8, 16, 64],
    [2, 37, 1, 2, 12, 8, 16],
    [1, 40, 1, 2, 80, 56, 16], // dk + dv > 64 columns a thread: the loops over columns go round twice
  ] as const;
  for (const [B, T, Hk, Hv, dk, dv, C] of cases) {
    it(`B=${B} T=${T} Hk=${Hk} Hv=${Hv} dk=${dk} dv=${dv} C=${C}`, async () => {
      const s: GdnShape = { B, T, Hk, Hv, dk, dv };
      const stride = 2 * Hk * dk + Hv * dv + 3;
      const d: GdnDims = { ...s, stride, C };
      const lay = gdnLayout(d);
      const inp = inputs(s, T + 31 * Hv + dk);
      const dO = randomF32(B * T * Hv * dv, T + 5);
      const qkv = f32buf(ctx, pack(inp, s, stride));
      const gb = f32buf(ctx, [...Array.from(inp.g), ...Array.from(inp.beta)]);
      const o = emptyBuf(ctx, B * T * Hv * dv);
      const saved = emptyBuf(ctx, lay.savedFloats);
      const work = emptyBuf(ctx, lay.workFloats);
      const dqkv = f32buf(ctx, new Float32Array(B * T * stride).fill(7));
      const dgb = emptyBuf(ctx, 2 * B * T * Hv);
      const [go, gsaved, gdqkv, gdgb] = await run(ctx, (rec) => {
        gdnFwd(rec, o, saved, work, qkv, gb, d);
        gdnBwd(rec, dqkv, dgb, f32buf(ctx, dO), qkv, gb, saved, work, d);
      }, o, saved, dqkv, dgb);
      const ref = refGatedDeltaRuleFwd(inp, s);
      const grads = refGatedDeltaRuleBwd(inp, dO, s);
      const tol = { atol: 5e-6, rtol: 5e-5 }; // f32 over ≤ 4 chunks: the worst seen is 1.7e-6 on values of order 1
      expectClose('o', go, ref.o, tol);
      const final = new Float32Array(B * Hv * dk * dv);
      for (let bh = 0; bh < B * Hv; bh++) {
        final.set(gsaved.subarray((bh * (lay.N + 1) + lay.N) * dk * dv, (bh * (lay.N + 1) + lay.N + 1) * dk * dv), bh * dk * dv);
      }
      expectClose('final state', final, ref.finalState, tol);
      const g = unpack(gdqkv, s, stride);
      expectClose('dq', g.q, grads.dq, tol);
      expectClose('dk', g.k, grads.dk, tol);
      expectClose('dv', g.v, grads.dv, tol);
      expectClose('dg', gdgb.subarray(0, B * T * Hv), grads.dg, tol);
      expectClose('dbeta', gdgb.subarray(B * T * Hv), grads.dbeta, tol);
      expect(g.pad.every((x) => x === 7), 'dqkv padding columns untouched').toBe(true);
    });
  }
});

// Generation continues a sequence: a prefill's final state (saved.states[N]) becomes the next call's initial state
// (saved.states[0] with initialState), one token or a few at a time; the outputs equal one pass over everything.
describe('gated delta rule continued from a saved state', () => {
  it('prefill of 66 tokens, then 1 token, then 4 tokens (B=2, Hk=1, Hv=2, dk=12, dv=8)', async () => {
    const s: GdnShape = { B: 2, T: 71, Hk: 1, Hv: 2, dk: 12, dv: 8 };
    const inp = inputs(s, 99);
    const ref = refGatedDeltaRuleFwd(inp, s);
    const pieces = [[0, 66], [66, 1], [67, 4]] as const;
    const outs: Float32Array[] = [];
    let prev: { saved: GPUBuffer; N: number } | null = null;
    for (const [t0, T] of pieces) {
      const ps: GdnShape = { ...s, T };
      const d: GdnDims = { ...ps, stride: 2 * s.Hk * s.dk + s.Hv * s.dv, C: 64 };
      const lay = gdnLayout(d);
      const slice = (x: ArrayLike<number>, w: number): Float32Array => {
        const out = new Float32Array(s.B * T * w);
        for (let b = 0; b < s.B; b++) for (let t = 0; t < T; t++) for (let e = 0; e < w; e++) out[(b * T + t) * w + e] = x[(b * s.T + t0 + t) * w + e];
        return out;
      };
      const part: GdnInputs = { q: slice(inp.q, s.Hk * s.dk), k: slice(inp.k, s.Hk * s.dk), v: slice(inp.v, s.Hv * s.dv), g: slice(inp.g, s.Hv), beta: slice(inp.beta, s.Hv) };
      const saved = emptyBuf(ctx, lay.savedFloats);
      const o = emptyBuf(ctx, s.B * T * s.Hv * s.dv);
      const from = prev;
      const [go] = await run(ctx, (rec) => {
        if (from) {
          for (let b = 0; b < s.B; b++) {
            for (let h = 0; h < s.Hv; h++) {
              rec.copy(from.saved, gdnStateIndex(d, from.N, b, h, from.N) * 4, saved, gdnStateIndex(d, lay.N, b, h, 0) * 4, s.dk * s.dv * 4);
            }
          }
        }
        gdnFwd(rec, o, saved, emptyBuf(ctx, lay.workFwdFloats), f32buf(ctx, pack(part, ps, d.stride)), f32buf(ctx, [...Array.from(part.g), ...Array.from(part.beta)]), d, { initialState: from !== null });
      }, o);
      outs.push(go);
      prev = { saved, N: lay.N };
    }
    const o = new Float32Array(ref.o.length);
    const row = s.Hv * s.dv;
    for (const [i, [t0, T]] of pieces.entries()) {
      for (let b = 0; b < s.B; b++) o.set(outs[i].subarray(b * T * row, (b + 1) * T * row), (b * s.T + t0) * row);
    }
    expectClose('o over the pieces', o, ref.o, { atol: 5e-6, rtol: 5e-5 });
  });
});
