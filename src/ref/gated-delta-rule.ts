// CPU reference for shaders/gdn_{chunk,state}_{fwd,bwd}.wgsl: the gated delta rule of Gated DeltaNet
// (Qwen3.5's linear attention), token by token in f64 — transformers' torch_recurrent_gated_delta_rule,
// which its chunked form equals up to rounding. Per value head h (key head h / (Hv/Hk), repeat_interleave),
// state S [dk, dv] from S0 (zero or given):
//   S ← S·exp(g_t);  δ_t = β_t (v_t − Sᵀk_t);  S ← S + k_t δ_tᵀ;  o_t = scale · Sᵀq_t
// The backward runs the same recurrence in reverse from the saved states (exact gradient of Σ do·o + ⟨dS_T, S_T⟩).
import type { Arr } from './matmul';

/** Layouts: q, k [B, T, Hk, dk] (after l2norm), v [B, T, Hv, dv], g (log decay), beta [B, T, Hv]; state [B, Hv, dk, dv]. */
export interface GdnShape {
  B: number;
  T: number;
  Hk: number;
  Hv: number;
  dk: number;
  dv: number;
}

export interface GdnInputs {
  q: Arr;
  k: Arr;
  v: Arr;
  g: Arr;
  beta: Arr;
  /** [B, Hv, dk, dv]; zero when absent. */
  initialState?: Arr;
}

function checkShape(s: GdnShape): void {
  if (s.Hv % s.Hk !== 0) throw new Error(`gated delta rule: ${s.Hv} value heads are not a multiple of ${s.Hk} key heads`);
}

/** Runs the recurrence; `visit(b, h, t, Sprev)` sees the state before token t's decay (for the backward). */
function recurrence(inp: GdnInputs, s: GdnShape, scale: number, visit?: (b: number, h: number, t: number, S: Float64Array) => void): { o: Float64Array; state: Float64Array } {
  checkShape(s);
  const { B, T, Hk, Hv, dk, dv } = s;
  const r = Hv / Hk;
  const o = new Float64Array(B * T * Hv * dv);
  const state = new Float64Array(B * Hv * dk * dv);
  const delta = new Float64Array(dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hv; h++) {
      const hk = Math.floor(h / r);
      const S = new Float64Array(dk * dv);
      if (inp.initialState) for (let e = 0; e < dk * dv; e++) S[e] = inp.initialState[(b * Hv + h) * dk * dv + e];
      for (let t = 0; t < T; t++) {
        visit?.(b, h, t, S);
        const qo = ((b * T + t) * Hk + hk) * dk;
        const vo = ((b * T + t) * Hv + h) * dv;
        const gt = inp.g[(b * T + t) * Hv + h];
        const bt = inp.beta[(b * T + t) * Hv + h];
        const a = Math.exp(gt);
        for (let e = 0; e < dk * dv; e++) S[e] *= a;
        for (let j = 0; j < dv; j++) {
          let kv = 0;
          for (let i = 0; i < dk; i++) kv += inp.k[qo + i] * S[i * dv + j];
          delta[j] = bt * (inp.v[vo + j] - kv);
        }
        for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) S[i * dv + j] += inp.k[qo + i] * delta[j];
        for (let j = 0; j < dv; j++) {
          let acc = 0;
          for (let i = 0; i < dk; i++) acc += inp.q[qo + i] * S[i * dv + j];
          o[vo + j] = scale * acc;
        }
      }
      state.set(S, (b * Hv + h) * dk * dv);
    }
  }
  return { o, state };
}

/** o [B, T, Hv, dv] and the final state [B, Hv, dk, dv]. */
export function refGatedDeltaRuleFwd(inp: GdnInputs, s: GdnShape, scale = 1 / Math.sqrt(s.dk)): { o: Float64Array; finalState: Float64Array } {
  const { o, state } = recurrence(inp, s, scale);
  return { o, finalState: state };
}

export interface GdnGrads {
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
  dg: Float64Array;
  dbeta: Float64Array;
  /** Gradient of the initial state [B, Hv, dk, dv]. */
  dInitialState: Float64Array;
}

/** Gradients of Σ do·o (+ ⟨dFinalState, S_T⟩) with respect to every input; dq/dk sum over the value heads sharing a key head. */
export function refGatedDeltaRuleBwd(inp: GdnInputs, dO: Arr, s: GdnShape, scale = 1 / Math.sqrt(s.dk), dFinalState?: Arr): GdnGrads {
  const { B, T, Hk, Hv, dk, dv } = s;
  const r = Hv / Hk;
  const saved = new Float64Array(B * Hv * T * dk * dv); // state before token t's decay
  const { state } = recurrence(inp, s, scale, (b, h, t, S) => saved.set(S, ((b * Hv + h) * T + t) * dk * dv));
  const g: GdnGrads = {
    dq: new Float64Array(inp.q.length),
    dk: new Float64Array(inp.k.length),
    dv: new Float64Array(inp.v.length),
    dg: new Float64Array(inp.g.length),
    dbeta: new Float64Array(inp.beta.length),
    dInitialState: new Float64Array(state.length),
  };
  const Sp = new Float64Array(dk * dv); // decayed state a·S_{t-1}
  const St = new Float64Array(dk * dv); // state after token t
  const kv = new Float64Array(dv);
  const ddelta = new Float64Array(dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hv; h++) {
      const hk = Math.floor(h / r);
      const dS = new Float64Array(dk * dv);
      if (dFinalState) for (let e = 0; e < dk * dv; e++) dS[e] = dFinalState[(b * Hv + h) * dk * dv + e];
      for (let t = T - 1; t >= 0; t--) {
        const prev = saved.subarray(((b * Hv + h) * T + t) * dk * dv, ((b * Hv + h) * T + t + 1) * dk * dv);
        const qo = ((b * T + t) * Hk + hk) * dk;
        const vo = ((b * T + t) * Hv + h) * dv;
        const gi = (b * T + t) * Hv + h;
        const a = Math.exp(inp.g[gi]);
        const bt = inp.beta[gi];
        // rebuild S' = a·S_{t-1}, δ and S_t
        for (let e = 0; e < dk * dv; e++) Sp[e] = a * prev[e];
        for (let j = 0; j < dv; j++) {
          let acc = 0;
          for (let i = 0; i < dk; i++) acc += inp.k[qo + i] * Sp[i * dv + j];
          kv[j] = acc;
        }
        for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) St[i * dv + j] = Sp[i * dv + j] + inp.k[qo + i] * bt * (inp.v[vo + j] - kv[j]);
        // o_t = scale·S_tᵀq_t
        for (let i = 0; i < dk; i++) {
          let acc = 0;
          for (let j = 0; j < dv; j++) {
            acc += St[i * dv + j] * dO[vo + j];
            dS[i * dv + j] += scale * inp.q[qo + i] * dO[vo + j];
          }
          g.dq[qo + i] += scale * acc;
        }
        // S_t = S' + k δᵀ, δ = β(v − S'ᵀk)
        for (let j = 0; j < dv; j++) {
          let acc = 0;
          for (let i = 0; i < dk; i++) acc += dS[i * dv + j] * inp.k[qo + i];
          ddelta[j] = acc;
        }
        let dbeta = 0;
        for (let j = 0; j < dv; j++) {
          dbeta += ddelta[j] * (inp.v[vo + j] - kv[j]);
          g.dv[vo + j] += bt * ddelta[j];
        }
        g.dbeta[gi] += dbeta;
        for (let i = 0; i < dk; i++) {
          let acc = 0;
          for (let j = 0; j < dv; j++) {
            const delta = bt * (inp.v[vo + j] - kv[j]);
            acc += dS[i * dv + j] * delta - Sp[i * dv + j] * bt * ddelta[j];
          }
          g.dk[qo + i] += acc;
        }
        for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) dS[i * dv + j] -= inp.k[qo + i] * bt * ddelta[j];
        // S' = a·S_{t-1}
        let da = 0;
        for (let e = 0; e < dk * dv; e++) {
          da += dS[e] * prev[e];
          dS[e] *= a;
        }
        g.dg[gi] += a * da;
      }
      g.dInitialState.set(dS, (b * Hv + h) * dk * dv);
    }
  }
  return g;
}
