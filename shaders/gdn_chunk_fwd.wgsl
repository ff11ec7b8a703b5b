// gdn_chunk_fwd: the part of the chunked gated delta rule that needs no state, every chunk at once
// (transformers' torch_chunk_gated_delta_rule before its loop over chunks; flash-linear-attention's
// chunk_scaled_dot_kkt + solve_tril + recompute_w_u). For value head h and chunk c of L ≤ C tokens:
//   γ_t = Σ_{u ≤ t} g_u (within the chunk)                              → gam
//   P_ts = scale·(q_t·k_s)·exp(γ_t − γ_s)   for s ≤ t, else 0           → mats[0]
//   L_ts = β_t·(k_t·k_s)·exp(γ_t − γ_s)     for s < t, else 0           → mats[1]
//   (I + L)·[U | W] = [β_t·v_t | β_t·exp(γ_t)·k_t]  (forward substitution) → uw
// so that, with S0 the state at the chunk start, gdn_state_fwd has v_new = U − W·S0 (the chunk's
// δ vectors). exp(γ_t − γ_s) ≤ 1 for s ≤ t: nothing overflows.
// Bindings (after gdn_common's Params at 0): 1 qkv f32 [B, T, stride] (read), 2 gb f32 [2, B, T, Hv] (read),
//   3 work f32 (gam, uw, mats written).
// Dispatch: one workgroup of 64 per (b, h, chunk), x = (b·Hv + h)·N + c (2D when large). Each thread owns
//   matrix entries (t, s), then columns of [U | W]: a column's substitution needs only that column.
// Numerics: f32; dot products over dk accumulated in f32. Checked by test/gated-delta-rule.test.ts against
//   src/ref/gated-delta-rule.ts.
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> gb: array<f32>;
@group(0) @binding(3) var<storage, read_write> work: array<f32>;
var<workgroup> gam: array<f32, MAX_C>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = wid.x + wid.y * nwg.x;
  let c = id % P.N;
  let h = (id / P.N) % P.Hv;
  let b = id / (P.N * P.Hv);
  let valid = b < P.B;
  let t0 = c * P.C;
  let L = select(0u, chunkLen(c), valid);
  if (li == 0u && valid) {
    var acc = 0.0;
    for (var t = 0u; t < L; t++) {
      acc += gb[gAt(b, t0 + t, h)];
      gam[t] = acc;
      work[gamAt(b, h, t0 + t)] = acc;
    }
  }
  workgroupBarrier();
  if (valid) {
    for (var e = li; e < P.C * P.C; e += WG) {
      let t = e / P.C;
      let s = e % P.C;
      var p = 0.0;
      var l = 0.0;
      if (t < L && s <= t) {
        let kt = kAt(b, t0 + t, h);
        let ks = kAt(b, t0 + s, h);
        let qt = qAt(b, t0 + t, h);
        var qk = 0.0;
        var kk = 0.0;
        for (var i = 0u; i < P.dk; i++) {
          qk += qkv[qt + i] * qkv[ks + i];
          kk += qkv[kt + i] * qkv[ks + i];
        }
        let decay = exp(gam[t] - gam[s]);
        p = P.scale * qk * decay;
        if (s < t) { l = gb[betaAt(b, t0 + t, h)] * kk * decay; }
      }
      work[matAt(b, h, c, 0u, t, s)] = p;
      work[matAt(b, h, c, 1u, t, s)] = l;
    }
  }
  storageBarrier();
  if (valid) {
    for (var col = li; col < P.dv + P.dk; col += WG) {
      for (var t = 0u; t < L; t++) {
        let beta = gb[betaAt(b, t0 + t, h)];
        var r: f32;
        if (col < P.dv) {
          r = beta * qkv[vAt(b, t0 + t, h) + col];
        } else {
          r = beta * exp(gam[t]) * qkv[kAt(b, t0 + t, h) + col - P.dv];
        }
        for (var s = 0u; s < t; s++) { r -= work[matAt(b, h, c, 1u, t, s)] * work[uwAt(b, h, t0 + s) + col]; }
        work[uwAt(b, h, t0 + t) + col] = r;
      }
    }
  }
}
