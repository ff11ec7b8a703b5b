// rmsnorm_fwd: y = beta * y + x * rstd * (wOffset + w), rstd = 1 / sqrt(mean(x²) + eps)
//   wOffset 0: HF LlamaRMSNorm / Qwen2RMSNorm / Qwen3RMSNorm; 1: Gemma3RMSNorm's x·(1 + w).
//   beta 1 adds the normalized row to what y holds (Gemma's norm on a block output before the residual add).
// Bindings: 0 params, 1 x f32 [rows, D], 2 w f32 [D], 3 y f32 [rows, D], 4 rstd f32 [rows] (saved for bwd).
// Dispatch: one workgroup of 256 per row (2D grid when rows > 65535).
// Numerics: sum of squares in f32, tree reduction in workgroup memory. Checked by test/rmsnorm.test.ts.
struct Params { rows: u32, D: u32, eps: f32, beta: f32, wOffset: f32, _p0: u32, _p1: u32, _p2: u32 }
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
  for (var c = li; c < params.D; c += 256u) {
    var v = (params.wOffset + w[c]) * (x[base + c] * rstd);
    if (params.beta != 0.0) { v = v + params.beta * y[base + c]; }
    y[base + c] = v;
  }
}
