// adamw: one torch.optim.AdamW step over all trainable parameters (one flat buffer), after torch's
// clip_grad_norm_ (coef = min(1, maxNorm / (‖g‖ + 1e-6)), applied when maxNorm > 0):
//   p ← p (1 - lr·wd);  m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²
//   p ← p - (lr / (1-β1^t)) · m / (sqrt(v) / sqrt(1-β2^t) + eps)
// Gate (so the host never has to read the loss before the update): the step is applied only when
// Σg² and every micro-batch's loss sum are finite and no earlier step was refused; otherwise p, m, v
// stay as they were and `refused` latches to 1, so steps the host queued behind a refused one are
// skipped too until it clears the latch (its step count, which gives the bias corrections, then
// restarts from the last applied step).
// Bindings: 0 params, 1 p f32 [n], 2 g f32 [n], 3 m f32 [n], 4 v f32 [n],
//           5 sumsq f32 [1] (Σ g², from reduce_sum),
//           6 step f32 [4 + k] = (lr, 1-β1^t, 1-β2^t, k, loss sum of micro-batch 0..k-1), written per step,
//           7 refused atomic u32 [1] (0 = applying).
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
@group(0) @binding(7) var<storage, read_write> refused: atomic<u32>;

// By the bit pattern: compilers may assume x == x and fold a NaN test away.
fn isFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// Every invocation reaches the same verdict: the inputs are the same for all, and the latch is only
// set by one that already found a non-finite value (which all find) or saw it set.
fn stepApplies() -> bool {
  if (atomicLoad(&refused) != 0u) { return false; }
  var finite = isFinite(sumsq[0]);
  let k = u32(stepVals[3]);
  for (var j = 0u; j < k; j++) { finite = finite && isFinite(stepVals[4u + j]); }
  return finite;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (!stepApplies()) {
    if (i == 0u) { atomicStore(&refused, 1u); }
    return;
  }
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
