// gdn_state_bwd: the backward of gdn_state_fwd's pass over chunks, in reverse, carrying dS (the gradient
// of the state at a chunk's end; zero after the last chunk: the final state gets no gradient in training).
// For value head h, chunk c from last to first:
//   dv_new_t = Σ_{s ≥ t} P_st·do_s + exp(γ_L − γ_t)·dS1ᵀk_t                          → work.dvn
//   dS0      = exp(γ_L)·dS1 + Σ_t scale·exp(γ_t)·q_t ⊗ do_t − Σ_t W_t ⊗ dv_new_t   → work.dstates[c − 1]
// work.dstates[c] holds dS1 of chunk c, the gradient at its end, for gdn_chunk_bwd. As in the forward,
// each value column j of dS evolves on its own: a thread owns a column.
// Bindings (after gdn_common's Params at 0): 1 qkv f32 [B, T, stride] (read), 2 do f32 [B, T, Hv, dv] (read),
//   3 work f32 (reads gam, uw, mats of gdn_chunk_fwd; writes dstates, dvn).
// Dispatch: one thread per (b, h, j < dv), 64 per workgroup (2D when large).
// Numerics: f32. Checked by test/gated-delta-rule.test.ts (gradients against src/ref/gated-delta-rule.ts).
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> dO: array<f32>;
@group(0) @binding(3) var<storage, read_write> work: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let th = columnThread(wid, nwg, li);
  if (th.x == 0u) { return; }
  let b = th.y;
  let h = th.z;
  let j = th.w;
  for (var i = 0u; i < P.dk; i++) { work[dstateAt(b, h, P.N - 1u) + i * P.dv + j] = 0.0; }
  for (var cc = 0u; cc < P.N; cc++) {
    let c = P.N - 1u - cc;
    let t0 = c * P.C;
    let L = chunkLen(c);
    let ds1 = dstateAt(b, h, c) + j;
    let gamL = work[gamAt(b, h, t0 + L - 1u)];
    for (var t = 0u; t < L; t++) {
      var acc = 0.0;
      for (var s = t; s < L; s++) { acc += work[matAt(b, h, c, 0u, s, t)] * dO[rowAt(b, t0 + s, h) + j]; }
      let k = kAt(b, t0 + t, h);
      var kds = 0.0;
      for (var i = 0u; i < P.dk; i++) { kds += qkv[k + i] * work[ds1 + i * P.dv]; }
      work[P.offDV + rowAt(b, t0 + t, h) + j] = acc + exp(gamL - work[gamAt(b, h, t0 + t)]) * kds;
    }
    if (c > 0u) {
      let ds0 = dstateAt(b, h, c - 1u) + j;
      for (var i = 0u; i < P.dk; i++) {
        var acc = exp(gamL) * work[ds1 + i * P.dv];
        for (var t = 0u; t < L; t++) {
          let r = rowAt(b, t0 + t, h) + j;
          acc += P.scale * exp(work[gamAt(b, h, t0 + t)]) * qkv[qAt(b, t0 + t, h) + i] * dO[r];
          acc -= work[uwAt(b, h, t0 + t) + P.dv + i] * work[P.offDV + r];
        }
        work[ds0 + i * P.dv] = acc;
      }
    }
  }
}
