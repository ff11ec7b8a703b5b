// glu_bwd: for a = act(g) * u:  dg = da * u * act'(g),  du = da * act(g)
//   ACT 0 (silu), s = sigmoid(g): act = g s, act' = s (1 + g (1 - s))
//   ACT 1 (gelu_tanh), z = k (g + c g³), s = σ(2z) = (1 + tanh z) / 2: act = g s, act' = s + 2 g s (1 - s) k (1 + 3 c g²)
//   (the tanh form without its cancellation, as glu_fwd.wgsl)
// Bindings: 0 params, 1 da f32 [n], 2 g f32 [n], 3 u f32 [n], 4 dg f32 [n], 5 du f32 [n].
// Dispatch: n/256 workgroups (2D when large). Numerics as glu_fwd.wgsl. Checked by test/elementwise.test.ts.
override ACT: u32 = 0u;
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> da: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> du: array<f32>;

const GELU_K: f32 = 0.7978845608028654; // √(2/π)
const GELU_C: f32 = 0.044715;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.n) { return; }
  let x = g[i];
  var value: f32;
  var slope: f32;
  if (ACT == 1u) {
    let s = 1.0 / (1.0 + exp(-2.0 * GELU_K * (x + GELU_C * x * x * x)));
    value = x * s;
    slope = s + 2.0 * x * s * (1.0 - s) * GELU_K * (1.0 + 3.0 * GELU_C * x * x);
  } else {
    let s = 1.0 / (1.0 + exp(-x));
    value = x * s;
    slope = s * (1.0 + x * (1.0 - s));
  }
  let d = da[i];
  dg[i] = d * u[i] * slope;
  du[i] = d * value;
}
