// causal_conv1d_fwd: Gated DeltaNet's depthwise causal conv1d with SiLU over q/k/v channels (transformers'
// causal_conv1d_fn: F.conv1d, groups = channels, padding K − 1, the first T outputs), zero history:
//   y[b, t, c] = silu(Σ_{k < K} w[c, k]·x[b, t − (K − 1) + k, c])   (x before t = 0 is 0)
// Bindings: 0 params, 1 x f32 [B, T, Ch] (in_proj_qkv's output), 2 w f32 [Ch, K] (conv1d.weight [Ch, 1, K]) — both
//   declared by causal_conv1d_common.wgsl with params and preActivation — 3 y f32 [B, T, Ch].
// Dispatch: one thread per output element, 256 per workgroup (2D when large).
// Numerics: f32, K products summed oldest first. Checked by test/causal-conv1d.test.ts against src/ref/causal-conv1d.ts.
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  if (idx >= params.B * params.T * params.Ch) { return; }
  let c = idx % params.Ch;
  let t = (idx / params.Ch) % params.T;
  let row0 = idx / params.Ch - t; // b·T
  let a = preActivation(row0, t, c);
  y[idx] = a / (1.0 + exp(-a));
}
