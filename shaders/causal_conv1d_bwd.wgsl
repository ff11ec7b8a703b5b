// causal_conv1d_bwd: input gradient of causal_conv1d_fwd (the conv weight is frozen; no dw):
//   da[t, c] = dy[t, c]·silu'(a[t, c]),  silu'(a) = s·(1 + a·(1 − s)), s = sigmoid(a)  (a recomputed from x)
//   dx[b, t, c] = Σ_{k < K, t + K − 1 − k < T} w[c, k]·da[b, t + K − 1 − k, c]
// Bindings: 0 params, 1 x f32 [B, T, Ch], 2 w f32 [Ch, K] (both from causal_conv1d_common.wgsl), 3 dy f32 [B, T, Ch],
//   4 dx f32 [B, T, Ch].
// Dispatch: one thread per dx element, 256 per workgroup (2D when large); each recomputes the K pre-activations
//   it needs (K² products: 16 at Qwen3.5's K = 4).
// Numerics: f32. Checked by test/causal-conv1d.test.ts against src/ref/causal-conv1d.ts.
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  if (idx >= params.B * params.T * params.Ch) { return; }
  let c = idx % params.Ch;
  let t = (idx / params.Ch) % params.T;
  let row0 = idx / params.Ch - t; // b·T
  var acc = 0.0;
  for (var k = 0u; k < params.K; k++) {
    let u = t + params.K - 1u - k; // the output that reads x[t] through w[c, k]
    if (u >= params.T) { continue; }
    let a = preActivation(row0, u, c);
    let s = 1.0 / (1.0 + exp(-a));
    acc += w[c * params.K + k] * dy[(row0 + u) * params.Ch + c] * s * (1.0 + a * (1.0 - s));
  }
  dx[idx] = acc;
}
