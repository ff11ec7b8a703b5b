// gdn_state_fwd: the chunked gated delta rule's pass over chunks, carrying the state (transformers'
// loop in torch_chunk_gated_delta_rule; flash-linear-attention's chunk_gated_delta_rule_fwd_h + fwd_o).
// For value head h, chunk c (tokens t0 + t, t < L), S0 the state at the chunk start [dk, dv]:
//   v_new_t = U_t − W_t·S0                                            → saved.vnew
//   o_t     = scale·exp(γ_t)·q_tᵀS0 + Σ_{s ≤ t} P_ts·v_new_s           → o
//   S1      = exp(γ_L)·S0 + Σ_s exp(γ_L − γ_s)·k_s ⊗ v_new_s            → saved.states[c + 1]
// (γ_L: the chunk's last γ). Every value column j of S evolves on its own, so a thread owns one column
// and walks the chunks; saved.states[c] holds S at the start of chunk c (the backward's checkpoints),
// states[N] the final state. states[0] is read as the initial state when `initial` is 1, else zeroed.
// Bindings (after gdn_common's Params at 0): 1 qkv f32 [B, T, stride] (read), 2 work f32 (read: gam, uw,
//   mats from gdn_chunk_fwd), 3 saved f32 (states [B, Hv, N + 1, dk, dv] | vnew [B, T, Hv, dv]),
//   4 o f32 [B, T, Hv, dv].
// Dispatch: one thread per (b, h, j < dv), 64 per workgroup (2D when large).
// Numerics: f32 throughout; the state is kept in `saved` (read back per element). Checked by
//   test/gated-delta-rule.test.ts against src/ref/gated-delta-rule.ts.
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> work: array<f32>;
@group(0) @binding(3) var<storage, read_write> saved: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let th = columnThread(wid, nwg, li);
  if (th.x == 0u) { return; }
  let b = th.y;
  let h = th.z;
  let j = th.w;
  if (P.initial == 0u) {
    for (var i = 0u; i < P.dk; i++) { saved[stateAt(b, h, 0u) + i * P.dv + j] = 0.0; }
  }
  for (var c = 0u; c < P.N; c++) {
    let t0 = c * P.C;
    let L = chunkLen(c);
    let s0 = stateAt(b, h, c) + j;
    for (var t = 0u; t < L; t++) {
      let uw = uwAt(b, h, t0 + t);
      var vn = work[uw + j];
      for (var i = 0u; i < P.dk; i++) { vn -= work[uw + P.dv + i] * saved[s0 + i * P.dv]; }
      saved[P.offVnew + rowAt(b, t0 + t, h) + j] = vn;
    }
    for (var t = 0u; t < L; t++) {
      let q = qAt(b, t0 + t, h);
      var inter = 0.0;
      for (var i = 0u; i < P.dk; i++) { inter += qkv[q + i] * saved[s0 + i * P.dv]; }
      var acc = P.scale * exp(work[gamAt(b, h, t0 + t)]) * inter;
      for (var s = 0u; s <= t; s++) { acc += work[matAt(b, h, c, 0u, t, s)] * saved[P.offVnew + rowAt(b, t0 + s, h) + j]; }
      o[rowAt(b, t0 + t, h) + j] = acc;
    }
    let gamL = work[gamAt(b, h, t0 + L - 1u)];
    let s1 = stateAt(b, h, c + 1u) + j;
    for (var i = 0u; i < P.dk; i++) {
      var acc = exp(gamL) * saved[s0 + i * P.dv];
      for (var s = 0u; s < L; s++) {
        acc += exp(gamL - work[gamAt(b, h, t0 + s)]) * qkv[kAt(b, t0 + s, h) + i] * saved[P.offVnew + rowAt(b, t0 + s, h) + j];
      }
      saved[s1 + i * P.dv] = acc;
    }
  }
}
