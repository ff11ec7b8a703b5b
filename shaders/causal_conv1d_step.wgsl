// causal_conv1d_step: one generation step of causal_conv1d_fwd with a rolling state (transformers'
// causal_conv1d_update): the window is the K − 1 previous inputs in `state` (oldest first) and x1, then
// the state drops its oldest input and takes x1:
//   y[b, c] = silu(Σ_{k < K − 1} w[c, k]·state[b, k, c] + w[c, K − 1]·x1[b, c]);  state[b, k, c] ← state[b, k + 1, c], state[b, K − 2, c] ← x1[b, c]
// Bindings: 0 params, 1 x1 f32 [B, Ch], 2 w f32 [Ch, K], 3 state f32 [B, K − 1, Ch] (read and updated), 4 y f32 [B, Ch].
// Dispatch: one thread per (b, c), 256 per workgroup; a thread owns its channel's window, so the update needs no barrier.
// Numerics: f32, as causal_conv1d_fwd. Checked by test/causal-conv1d.test.ts (steps equal the whole-sequence forward).
struct Params { B: u32, Ch: u32, K: u32, _p: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x1: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  if (idx >= params.B * params.Ch) { return; }
  let c = idx % params.Ch;
  let b = idx / params.Ch;
  let S = params.K - 1u;
  var a = 0.0;
  for (var k = 0u; k < S; k++) {
    let cur = state[(b * S + k) * params.Ch + c];
    a += w[c * params.K + k] * cur;
    if (k > 0u) { state[(b * S + k - 1u) * params.Ch + c] = cur; }
  }
  let xn = x1[idx];
  a += w[c * params.K + S] * xn;
  if (S > 0u) { state[(b * S + S - 1u) * params.Ch + c] = xn; }
  y[idx] = a / (1.0 + exp(-a));
}
