// gdn_chunk_bwd: every input gradient of the chunked gated delta rule, each chunk on its own once
// gdn_state_bwd has left dv_new and dS1 (the gradient at the chunk's end) for it. For value head h of
// key head hk, chunk c (L tokens), S0 = saved.states[c], with P, L, U, W, γ recomputed by gdn_chunk_fwd:
//   [dU | dW]_t = [dv_new_t | −S0·dv_new_t]
//   (I + L)ᵀ·X = [dU | dW]                   (back substitution; X = d[β·v | β·exp(γ)·k])
//   dP_ts = do_t·v_new_s (s ≤ t),  dL_ts = −X_t·[U | W]_s (s < t)
//   dq_t  = scale·(Σ_s dP_ts·exp(γ_t − γ_s)·k_s + exp(γ_t)·S0·do_t)
//   dk_u  = Σ_t dP_tu·scale·exp(γ_t − γ_u)·q_t + Σ_s dL_us·β_u·exp(γ_u − γ_s)·k_s + Σ_t dL_tu·β_t·exp(γ_t − γ_u)·k_t
//           + exp(γ_L − γ_u)·dS1·v_new_u + β_u·exp(γ_u)·X^W_u
//   dv_t  = β_t·X^U_t
//   dβ_t  = v_t·X^U_t + exp(γ_t)·k_t·X^W_t + Σ_s dL_ts·(k_t·k_s)·exp(γ_t − γ_s)
//   dγ_t  = Σ_s D_ts − Σ_s D_st + scale·exp(γ_t)·q_t·S0·do_t + β_t·exp(γ_t)·k_t·X^W_t − exp(γ_L − γ_t)·k_t·dS1·v_new_t,
//           D = dP∘P + dL∘L, and γ_L gains Σ_t exp(γ_L − γ_t)·k_t·dS1·v_new_t + exp(γ_L)·⟨dS1, S0⟩
//   dg_t  = Σ_{u ≥ t} dγ_u within the chunk
// dq and dk sum over the Hv / Hk value heads that share the key head (the workgroup loops over them).
// Bindings (after gdn_common's Params at 0): 1 qkv f32 [B, T, stride] (read), 2 gb f32 [2, B, T, Hv] (read),
//   3 work f32 (read gam, uw, dstates, dvn; mats and xs rewritten), 4 saved f32 (states | vnew, read),
//   5 do f32 [B, T, Hv, dv] (read), 6 dqkv f32 [B, T, stride] (q, k, v columns written), 7 dgb f32 [2, B, T, Hv] (written).
// Dispatch: one workgroup of 64 per (b, hk, chunk), x = (b·Hk + hk)·N + c (2D when large).
// Numerics: f32; the L×L matrices and X live in `work`, each pass separated by a storage barrier.
//   Checked by test/gated-delta-rule.test.ts against src/ref/gated-delta-rule.ts (refGatedDeltaRuleBwd).
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> gb: array<f32>;
@group(0) @binding(3) var<storage, read_write> work: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read> dO: array<f32>;
@group(0) @binding(6) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(7) var<storage, read_write> dgb: array<f32>;
var<workgroup> gam: array<f32, MAX_C>;
var<workgroup> dgam: array<f32, MAX_C>;
var<workgroup> tail: array<f32, MAX_C>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = wid.x + wid.y * nwg.x;
  let c = id % P.N;
  let hk = (id / P.N) % P.Hk;
  let b = id / (P.N * P.Hk);
  let valid = b < P.B;
  let t0 = c * P.C;
  let L = select(0u, chunkLen(c), valid);
  let W = P.dv + P.dk;
  let ratio = P.Hv / P.Hk;
  for (var m = 0u; m < ratio; m++) {
    let h = hk * ratio + m;
    if (li < L) { gam[li] = work[gamAt(b, h, t0 + li)]; }
    workgroupBarrier();
    let gamL = gam[max(L, 1u) - 1u];
    let s0 = stateAt(b, h, c);
    let ds1 = dstateAt(b, h, c);
    // [dU | dW] into xs
    for (var e = li; e < L * W; e += WG) {
      let t = e / W;
      let col = e % W;
      let dvn = P.offDV + rowAt(b, t0 + t, h);
      var y: f32;
      if (col < P.dv) {
        y = work[dvn + col];
      } else {
        y = 0.0;
        for (var j = 0u; j < P.dv; j++) { y -= saved[s0 + (col - P.dv) * P.dv + j] * work[dvn + j]; }
      }
      work[xsAt(b, h, t0 + t) + col] = y;
    }
    storageBarrier();
    // (I + L)ᵀ X = Y, each column on its own, last token first
    for (var col = li; col < W; col += WG) {
      for (var tt = 0u; tt < L; tt++) {
        let t = L - 1u - tt;
        var x = work[xsAt(b, h, t0 + t) + col];
        for (var s = t + 1u; s < L; s++) { x -= work[matAt(b, h, c, 1u, s, t)] * work[xsAt(b, h, t0 + s) + col]; }
        work[xsAt(b, h, t0 + t) + col] = x;
      }
    }
    storageBarrier();
    // dP, dL in place of P, L; D = dP∘P + dL∘L beside them
    for (var e = li; e < L * L; e += WG) {
      let t = e / L;
      let s = e % L;
      var dp = 0.0;
      var dl = 0.0;
      var d = 0.0;
      if (s <= t) {
        let dor = rowAt(b, t0 + t, h);
        let vns = P.offVnew + rowAt(b, t0 + s, h);
        for (var j = 0u; j < P.dv; j++) { dp += dO[dor + j] * saved[vns + j]; }
        d = dp * work[matAt(b, h, c, 0u, t, s)];
      }
      if (s < t) {
        let xt = xsAt(b, h, t0 + t);
        let us = uwAt(b, h, t0 + s);
        for (var col = 0u; col < W; col++) { dl -= work[xt + col] * work[us + col]; }
        d += dl * work[matAt(b, h, c, 1u, t, s)];
      }
      work[matAt(b, h, c, 0u, t, s)] = dp;
      work[matAt(b, h, c, 1u, t, s)] = dl;
      work[matAt(b, h, c, 2u, t, s)] = d;
    }
    storageBarrier();
    // dβ_t and dγ_t, one thread per token (C ≤ 64)
    if (li < L) {
      let t = li;
      let beta = gb[betaAt(b, t0 + t, h)];
      let q = qAt(b, t0 + t, h);
      let k = kAt(b, t0 + t, h);
      let v = vAt(b, t0 + t, h);
      let xt = xsAt(b, h, t0 + t);
      var dg = 0.0;
      for (var s = 0u; s < L; s++) { dg += work[matAt(b, h, c, 2u, t, s)] - work[matAt(b, h, c, 2u, s, t)]; }
      var vxu = 0.0;
      for (var j = 0u; j < P.dv; j++) { vxu += qkv[v + j] * work[xt + j]; }
      var kxw = 0.0;
      var qsdo = 0.0;
      var kdsv = 0.0;
      let dor = rowAt(b, t0 + t, h);
      let vnt = P.offVnew + rowAt(b, t0 + t, h);
      for (var i = 0u; i < P.dk; i++) {
        kxw += qkv[k + i] * work[xt + P.dv + i];
        var sdo = 0.0;
        var dsv = 0.0;
        for (var j = 0u; j < P.dv; j++) {
          sdo += saved[s0 + i * P.dv + j] * dO[dor + j];
          dsv += work[ds1 + i * P.dv + j] * saved[vnt + j];
        }
        qsdo += qkv[q + i] * sdo;
        kdsv += qkv[k + i] * dsv;
      }
      let et = exp(gam[t]);
      let toEnd = exp(gamL - gam[t]) * kdsv;
      tail[t] = toEnd;
      dgam[t] = dg + P.scale * et * qsdo + beta * et * kxw - toEnd;
      var dbeta = vxu + et * kxw;
      for (var s = 0u; s < t; s++) {
        let ks = kAt(b, t0 + s, h);
        var kk = 0.0;
        for (var i = 0u; i < P.dk; i++) { kk += qkv[k + i] * qkv[ks + i]; }
        dbeta += work[matAt(b, h, c, 1u, t, s)] * kk * exp(gam[t] - gam[s]);
      }
      dgb[betaAt(b, t0 + t, h)] = dbeta;
    }
    workgroupBarrier();
    if (li == 0u && L > 0u) {
      var extra = 0.0;
      for (var t = 0u; t < L; t++) { extra += tail[t]; }
      var dss = 0.0;
      for (var e = 0u; e < P.dk * P.dv; e++) { dss += work[ds1 + e] * saved[s0 + e]; }
      dgam[L - 1u] += extra + exp(gamL) * dss;
      var acc = 0.0;
      for (var tt = 0u; tt < L; tt++) {
        let t = L - 1u - tt;
        acc += dgam[t];
        dgb[gAt(b, t0 + t, h)] = acc;
      }
    }
    // dq, dk (summed over the value heads of this key head), dv
    for (var e = li; e < L * P.dk; e += WG) {
      let u = e / P.dk;
      let i = e % P.dk;
      let beta = gb[betaAt(b, t0 + u, h)];
      var dq = 0.0;
      for (var s = 0u; s <= u; s++) { dq += work[matAt(b, h, c, 0u, u, s)] * exp(gam[u] - gam[s]) * qkv[kAt(b, t0 + s, h) + i]; }
      var sdo = 0.0;
      let dor = rowAt(b, t0 + u, h);
      for (var j = 0u; j < P.dv; j++) { sdo += saved[s0 + i * P.dv + j] * dO[dor + j]; }
      dq = P.scale * (dq + exp(gam[u]) * sdo);
      var dk = 0.0;
      for (var t = u; t < L; t++) { dk += work[matAt(b, h, c, 0u, t, u)] * P.scale * exp(gam[t] - gam[u]) * qkv[qAt(b, t0 + t, h) + i]; }
      for (var s = 0u; s < u; s++) { dk += work[matAt(b, h, c, 1u, u, s)] * beta * exp(gam[u] - gam[s]) * qkv[kAt(b, t0 + s, h) + i]; }
      for (var t = u + 1u; t < L; t++) {
        dk += work[matAt(b, h, c, 1u, t, u)] * gb[betaAt(b, t0 + t, h)] * exp(gam[t] - gam[u]) * qkv[kAt(b, t0 + t, h) + i];
      }
      var dsv = 0.0;
      let vnu = P.offVnew + rowAt(b, t0 + u, h);
      for (var j = 0u; j < P.dv; j++) { dsv += work[ds1 + i * P.dv + j] * saved[vnu + j]; }
      dk += exp(gamL - gam[u]) * dsv + beta * exp(gam[u]) * work[xsAt(b, h, t0 + u) + P.dv + i];
      let qi = qAt(b, t0 + u, h) + i;
      let ki = kAt(b, t0 + u, h) + i;
      if (m == 0u) {
        dqkv[qi] = dq;
        dqkv[ki] = dk;
      } else {
        dqkv[qi] += dq;
        dqkv[ki] += dk;
      }
    }
    for (var e = li; e < L * P.dv; e += WG) {
      let t = e / P.dv;
      let j = e % P.dv;
      dqkv[vAt(b, t0 + t, h) + j] = gb[betaAt(b, t0 + t, h)] * work[xsAt(b, h, t0 + t) + j];
    }
    storageBarrier();
  }
}
