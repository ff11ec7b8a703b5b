// gdn_recurrent_fwd: the gated delta rule token by token from a state kept between calls, for generation
// (transformers' torch_recurrent_gated_delta_rule / flash-linear-attention's fused_recurrent_gated_delta_rule,
// which transformers runs for each decoded token). The prompt and every new token continue the same state:
//   S ← S·exp(g_t);  δ_t = β_t (v_t − Sᵀk_t);  S ← S + k_t δ_tᵀ;  o_t = scale · Sᵀq_t
// Every value column j of a head's state evolves on its own, so a thread owns one column, updates it in place
// and walks the T tokens of its sequence (T = 1 in a decode step).
// Bindings (after gdn_common's Params at 0; only B, T, Hk, Hv, dk, dv, stride, scale are read): 1 qkv f32
//   [B, T, stride] (q, k after l2norm; read), 2 gb f32 [2, B, T, Hv] (g then beta; read), 3 state f32
//   [B, Hv, dk, dv] (read and updated), 4 o f32 [B, T, Hv, dv].
// Dispatch: one thread per (b, h, j < dv), 64 per workgroup (2D when large).
// Numerics: f32, the state read and written per element as gdn_state_fwd keeps it. Checked by
//   test/gdn-recurrent.test.ts against src/ref/gated-delta-rule.ts (refGatedDeltaRuleFwd with an initial state).
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> gb: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let th = columnThread(wid, nwg, li);
  if (th.x == 0u) { return; }
  let b = th.y;
  let h = th.z;
  let j = th.w;
  let s0 = (b * P.Hv + h) * P.dk * P.dv + j;
  for (var t = 0u; t < P.T; t++) {
    let q = qAt(b, t, h);
    let k = kAt(b, t, h);
    let a = exp(gb[gAt(b, t, h)]);
    var kv = 0.0;
    for (var i = 0u; i < P.dk; i++) {
      let s = state[s0 + i * P.dv] * a;
      state[s0 + i * P.dv] = s;
      kv += qkv[k + i] * s;
    }
    let delta = gb[betaAt(b, t, h)] * (qkv[vAt(b, t, h) + j] - kv);
    var acc = 0.0;
    for (var i = 0u; i < P.dk; i++) {
      let s = state[s0 + i * P.dv] + qkv[k + i] * delta;
      state[s0 + i * P.dv] = s;
      acc += qkv[q + i] * s;
    }
    o[rowAt(b, t, h) + j] = P.scale * acc;
  }
}
