// shaders/gdn_recurrent_fwd.wgsl (generation's gated delta rule: a state carried from call to call) against
// src/ref/gated-delta-rule.ts: from a given state, and a prefill followed by one-token steps equal to one pass
// over the whole sequence.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { gdnRecurrentFwd, gdnStateFloats } from '../src/gpu/ops/gdn-recurrent';
import { refGatedDeltaRuleFwd } from '../src/ref/gated-delta-rule';
import type { GdnInputs, GdnShape } from '../src/ref/gated-delta-rule';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { gdnInputs, packQkv } from './helpers/gdn-inputs';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

const tol = { atol: 5e-6, rtol: 5e-5 }; // as the chunked kernels' test: f32 against f64 on values of order 1

/** Tokens t0 .. t0 + T of every sequence of x [B, s.T, w]. */
function tokens(x: ArrayLike<number>, s: GdnShape, w: number, t0: number, T: number): Float32Array {
  const out = new Float32Array(s.B * T * w);
  for (let b = 0; b < s.B; b++) for (let t = 0; t < T; t++) for (let e = 0; e < w; e++) out[(b * T + t) * w + e] = x[(b * s.T + t0 + t) * w + e];
  return out;
}

function piece(inp: GdnInputs, s: GdnShape, t0: number, T: number): GdnInputs {
  return {
    q: tokens(inp.q, s, s.Hk * s.dk, t0, T),
    k: tokens(inp.k, s, s.Hk * s.dk, t0, T),
    v: tokens(inp.v, s, s.Hv * s.dv, t0, T),
    g: tokens(inp.g, s, s.Hv, t0, T),
    beta: tokens(inp.beta, s, s.Hv, t0, T),
  };
}

describe('gated delta rule, recurrent on the GPU', () => {
  it('5 tokens from a given state (B=2 Hk=1 Hv=2 dk=12 dv=8)', async () => {
    const s: GdnShape = { B: 2, T: 5, Hk: 1, Hv: 2, dk: 12, dv: 8 };
    const stride = 2 * s.Hk * s.dk + s.Hv * s.dv + 3;
    const inp = { ...gdnInputs(s, 5), initialState: randomF32(s.B * s.Hv * s.dk * s.dv, 6) };
    const state = f32buf(ctx, inp.initialState);
    const o = emptyBuf(ctx, s.B * s.T * s.Hv * s.dv);
    const [go, gstate] = await run(ctx, (rec) => {
      gdnRecurrentFwd(rec, o, state, f32buf(ctx, packQkv(inp, s, stride)), f32buf(ctx, [...Array.from(inp.g), ...Array.from(inp.beta)]), { ...s, stride });
    }, o, state);
    const ref = refGatedDeltaRuleFwd(inp, s);
    expectClose('o', go, ref.o, tol);
    expectClose('state after', gstate, ref.finalState, tol);
  });

  // tiny-qwen3_5's linear layers: 2 key heads of 24 over 4 value heads of 16.
  it('prefill of 7 tokens, then 4 one-token steps, equal one pass over 11 (Hk=2 Hv=4 dk=24 dv=16)', async () => {
    const s: GdnShape = { B: 1, T: 11, Hk: 2, Hv: 4, dk: 24, dv: 16 };
    const stride = 2 * s.Hk * s.dk + s.Hv * s.dv;
    const inp = gdnInputs(s, 21);
    const state = emptyBuf(ctx, gdnStateFloats({ ...s, stride }));
    const pieces: [number, number][] = [[0, 7], [7, 1], [8, 1], [9, 1], [10, 1]];
    const outs = pieces.map(([, T]) => emptyBuf(ctx, s.B * T * s.Hv * s.dv));
    const got = await run(ctx, (rec) => {
      rec.clear(state, 0, gdnStateFloats({ ...s, stride }) * 4);
      for (const [i, [t0, T]] of pieces.entries()) {
        const part = piece(inp, s, t0, T);
        const ps = { ...s, T };
        gdnRecurrentFwd(rec, outs[i], state, f32buf(ctx, packQkv(part, ps, stride)), f32buf(ctx, [...Array.from(part.g), ...Array.from(part.beta)]), { ...ps, stride });
      }
    }, ...outs, state);
    const ref = refGatedDeltaRuleFwd(inp, s);
    for (const [i, [t0, T]] of pieces.entries()) expectClose(`o of tokens ${t0}..${t0 + T - 1}`, got[i], tokens(ref.o, s, s.Hv * s.dv, t0, T), tol);
    expectClose('final state', got[pieces.length], ref.finalState, tol);
  });
});
