// glu_fwd: a = act(g) * u, the gated MLP's activation:
//   ACT 0, SwiGLU: act = silu(g) = g * sigmoid(g)
//   ACT 1, GeGLU:  act = gelu_tanh(g) = 0.5 g (1 + tanh(√(2/π) (g + 0.044715 g³)))   (torch's approximate="tanh")
// Bindings: 0 params, 1 g f32 [n], 2 u f32 [n], 3 a f32 [n]. Dispatch: n/256 workgroups (2D when large).
// Numerics: f32. GeGLU as x·σ(2z) with z = √(2/π)(x + 0.044715x³), the same function (1 + tanh z = 2σ(2z))
// without the cancellation of 1 + tanh z where tanh z ≈ −1; exp overflow gives σ = 0, never NaN.
// Checked by test/elementwise.test.ts (src/ref/activation.ts, in the tanh form, f64).
override ACT: u32 = 0u;
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> a: array<f32>;

const GELU_K: f32 = 0.7978845608028654; // √(2/π)

fn act(x: f32) -> f32 {
  if (ACT == 1u) {
    let s = 1.0 / (1.0 + exp(-2.0 * GELU_K * (x + 0.044715 * x * x * x)));
    return x * s;
  }
  return x / (1.0 + exp(-x));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.n) { return; }
  a[i] = act(g[i]) * u[i];
}
