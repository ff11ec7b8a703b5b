// l2norm_bwd: the gradient of l2norm_fwd, in place on the output gradient, from the output y = x·r and r:
//   dx = r·(dy − y·(y·dy))   (= r·dy − r³·x·(x·dy))
// Bindings: 0 params, 1 dy f32 [rows, stride] (heads·D columns from col0 turned into dx in place),
//   2 y f32 [rows, stride] (l2norm_fwd's output, same layout), 3 rnorm f32 [rows, heads].
// Dispatch: one thread per (row, head), 256 per workgroup (2D when large).
// Numerics: f32. Checked by test/l2norm.test.ts against src/ref/l2norm.ts.
struct Params { rows: u32, heads: u32, D: u32, stride: u32, col0: u32, eps: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dy: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> rnorm: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  if (idx >= params.rows * params.heads) { return; }
  let base = (idx / params.heads) * params.stride + params.col0 + (idx % params.heads) * params.D;
  var yd = 0.0;
  for (var i = 0u; i < params.D; i++) { yd += y[base + i] * dy[base + i]; }
  let r = rnorm[idx];
  for (var i = 0u; i < params.D; i++) { dy[base + i] = r * (dy[base + i] - y[base + i] * yd); }
}
