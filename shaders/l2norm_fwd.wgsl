// l2norm_fwd: per-head L2 normalisation in place (transformers' / flash-linear-attention's l2norm of Gated
// DeltaNet's q and k, eps fixed at 1e-6 in their code):
//   r = 1 / sqrt(Σ_i x_i² + eps),  x ← x·r  over each head's D values
// Heads sit inside wider rows: head h of row n starts at n·stride + col0 + h·D (q and k of the conv output
// are 2·Hk consecutive heads at column 0).
// Bindings: 0 params, 1 x f32 [rows, stride] (heads·D columns from col0 normalised in place), 2 rnorm f32 [rows, heads] (r, for the backward).
// Dispatch: one thread per (row, head), 256 per workgroup (2D when large).
// Numerics: f32 sum of squares. Checked by test/l2norm.test.ts against src/ref/l2norm.ts.
struct Params { rows: u32, heads: u32, D: u32, stride: u32, col0: u32, eps: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> rnorm: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  if (idx >= params.rows * params.heads) { return; }
  let base = (idx / params.heads) * params.stride + params.col0 + (idx % params.heads) * params.D;
  var s = 0.0;
  for (var i = 0u; i < params.D; i++) { s += x[base + i] * x[base + i]; }
  let r = inverseSqrt(s + params.eps);
  for (var i = 0u; i < params.D; i++) { x[base + i] = x[base + i] * r; }
  rnorm[idx] = r;
}
