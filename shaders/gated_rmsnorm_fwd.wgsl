// gated_rmsnorm_fwd: Gated DeltaNet's output norm (transformers' Qwen3_5RMSNormGated), per value head:
//   rstd = 1 / sqrt(mean(x²) + eps),  y = x·rstd·w·silu(z)
// with the plain weight w (init 1), not the 1 + w of Qwen3.5's other norms.
// Bindings: 0 params, 1 x f32 [rows, D] (the delta rule's output [B, T, Hv, dv]), 2 z f32 [rows, D] (in_proj_z's
//   output), 3 w f32 [D], 4 y f32 [rows, D], 5 rstd f32 [rows] (for the backward).
// Dispatch: one thread per row (rows = B·T·Hv, D = dv), 256 per workgroup (2D when large).
// Numerics: f32 sum of squares. Checked by test/gated-rmsnorm.test.ts against src/ref/gated-rmsnorm.ts.
struct Params { rows: u32, D: u32, eps: f32, _p: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstdOut: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = (wid.x + wid.y * nwg.x) * 256u + li;
  if (row >= params.rows) { return; }
  let base = row * params.D;
  var s = 0.0;
  for (var c = 0u; c < params.D; c++) { s += x[base + c] * x[base + c]; }
  let rstd = inverseSqrt(s / f32(params.D) + params.eps);
  for (var c = 0u; c < params.D; c++) {
    let g = z[base + c];
    y[base + c] = x[base + c] * rstd * w[c] * (g / (1.0 + exp(-g)));
  }
  rstdOut[row] = rstd;
}
