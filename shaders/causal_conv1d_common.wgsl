// causal_conv1d_common (snippet, prepended to causal_conv1d_{fwd,bwd}): the parameter block, the input and
// weight bindings, and the pre-activation both kernels compute (the backward recomputes it instead of saving it).
//   x f32 [B, T, Ch] at binding 1, w f32 [Ch, K] at binding 2
struct Params { B: u32, T: u32, Ch: u32, K: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;

/** a[b, t, c] = Σ_k w[c, k]·x[b, t − (K − 1) + k, c] (zero before t = 0); row0 = b·T. */
fn preActivation(row0: u32, t: u32, c: u32) -> f32 {
  var a = 0.0;
  for (var k = 0u; k < params.K; k++) {
    if (t + k + 1u >= params.K) { a += w[c * params.K + k] * x[(row0 + t + k + 1u - params.K) * params.Ch + c]; }
  }
  return a;
}
