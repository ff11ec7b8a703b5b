// rmsnorm_bwd: dx = beta * dx + rstd * (w'∘dy) - x * rstd³ / D * Σ(w'∘dy∘x),  w' = wOffset + w
// (beta = 1 adds to a residual gradient already in dx; wOffset 1 for Gemma's x·(1 + w).)
// Bindings: 0 params, 1 dy f32 [rows, D], 2 x f32 [rows, D], 3 w f32 [D], 4 rstd f32 [rows], 5 dx f32 [rows, D].
// Dispatch: one workgroup of 256 per row. Numerics: f32, tree reduction. Checked by test/rmsnorm.test.ts.
struct Params { rows: u32, D: u32, beta: f32, wOffset: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> rstdIn: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let base = row * params.D;
  var s = 0.0;
  for (var c = li; c < params.D; c += 256u) { s = s + (params.wOffset + w[c]) * dy[base + c] * x[base + c]; }
  red[li] = s;
  workgroupBarrier();
  for (var step = 128u; step > 0u; step >>= 1u) {
    if (li < step) { red[li] = red[li] + red[li + step]; }
    workgroupBarrier();
  }
  let rstd = rstdIn[row];
  let k = red[0] * rstd * rstd * rstd / f32(params.D);
  for (var c = li; c < params.D; c += 256u) {
    var g = rstd * (params.wOffset + w[c]) * dy[base + c] - x[base + c] * k;
    if (params.beta != 0.0) { g = g + params.beta * dx[base + c]; }
    dx[base + c] = g;
  }
}
