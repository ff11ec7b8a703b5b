// silu_mul_fwd: a = silu(g) * u = g * sigmoid(g) * u   (the SwiGLU MLP's activation)
// Bindings: 0 params, 1 g f32 [n], 2 u f32 [n], 3 a f32 [n]. Dispatch: n/256 workgroups (2D when large).
// Checked by test/elementwise.test.ts.
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> a: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.n) { return; }
  let gv = g[i];
  a[i] = gv / (1.0 + exp(-gv)) * u[i];
}
