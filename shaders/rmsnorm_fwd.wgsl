// rmsnorm_fwd: y = x * rstd * w, rstd = 1 / sqrt(mean(x²) + eps)   (HF LlamaRMSNorm / Qwen2RMSNorm)
// Bindings: 0 params, 1 x f32 [rows, D], 2 w f32 [D], 3 y f32 [rows, D], 4 rstd f32 [rows] (saved for bwd).
// Dispatch: one workgroup of 256 per row (2D grid when rows > 65535).
// Numerics: sum of squares in f32, tree reduction in workgroup memory. Checked by test/rmsnorm.test.ts.
struct Params { rows: u32, D: u32, eps: f32, _p: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstdOut: array<f32>;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let base = row * params.D;
  var s = 0.0;
  for (var c = li; c < params.D; c += 256u) { let v = x[base + c]; s = s + v * v; }
  red[li] = s;
  workgroupBarrier();
  for (var step = 128u; step > 0u; step >>= 1u) {
    if (li < step) { red[li] = red[li] + red[li + step]; }
    workgroupBarrier();
  }
  let rstd = inverseSqrt(red[0] / f32(params.D) + params.eps);
  if (li == 0u) { rstdOut[row] = rstd; }
  for (var c = li; c < params.D; c += 256u) { y[base + c] = w[c] * (x[base + c] * rstd); }
}
