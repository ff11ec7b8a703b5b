// adamw: one torch.optim.AdamW step over all trainable parameters (one flat buffer), after torch's
// clip_grad_norm_ (coef = min(1, maxNorm / (‖g‖ + 1e-6)), applied when maxNorm > 0):
//   p ← p (1 - lr·wd);  m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²
//   p ← p - (lr / (1-β1^t)) · m / (sqrt(v) / sqrt(1-β2^t) + eps)
// Bindings: 0 params, 1 p f32 [n], 2 g f32 [n], 3 m f32 [n], 4 v f32 [n],
//           5 sumsq f32 [1] (Σ g², from reduce_sum), 6 step f32 [4] = (lr, 1-β1^t, 1-β2^t, _) written per step.
// Dispatch: n/256 workgroups (2D when large). Numerics: f32, torch's operation order.
// Checked by test/adamw.test.ts (src/ref/adamw.ts).
struct Params { n: u32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, maxNorm: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> sumsq: array<f32>;
@group(0) @binding(6) var<storage, read> stepVals: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.n) { return; }
  let lr = stepVals[0];
  let bc1 = stepVals[1];
  let bc2 = stepVals[2];
  var grad = g[i];
  if (params.maxNorm > 0.0) {
    let coef = min(1.0, params.maxNorm / (sqrt(sumsq[0]) + 1e-6));
    grad = grad * coef;
  }
  var w = p[i] * (1.0 - lr * params.weightDecay);
  let mi = m[i] + (1.0 - params.beta1) * (grad - m[i]); // torch: exp_avg.lerp_(grad, 1 - beta1)
  let vi = params.beta2 * v[i] + (1.0 - params.beta2) * grad * grad;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / sqrt(bc2) + params.eps;
  w = w - (lr / bc1) * mi / denom;
  p[i] = w;
}
