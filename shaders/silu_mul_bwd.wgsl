// silu_mul_bwd: with s = sigmoid(g): dg = da * u * s * (1 + g (1 - s)), du = da * g * s.
// Bindings: 0 params, 1 da f32 [n], 2 g f32 [n], 3 u f32 [n], 4 dg f32 [n], 5 du f32 [n].
// Dispatch: n/256 workgroups (2D when large). Checked by test/elementwise.test.ts.
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> da: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> du: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.n) { return; }
  let gv = g[i];
  let s = 1.0 / (1.0 + exp(-gv));
  let d = da[i];
  dg[i] = d * u[i] * s * (1.0 + gv * (1.0 - s));
  du[i] = d * gv * s;
}
