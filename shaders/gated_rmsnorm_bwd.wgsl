// gated_rmsnorm_bwd: input gradients of gated_rmsnorm_fwd (the norm weight is frozen in LoRA training: no dw):
//   n = x·rstd·w,  dn = dy·silu(z),  dz = dy·n·silu'(z),  silu'(z) = s·(1 + z·(1 − s)), s = sigmoid(z)
//   dx = rstd·w·dn − x·rstd³/D·Σ(w·dn·x)
// Bindings: 0 params, 1 dy f32 [rows, D], 2 x f32 [rows, D], 3 z f32 [rows, D], 4 w f32 [D], 5 rstd f32 [rows],
//   6 dx f32 [rows, D], 7 dz f32 [rows, D].
// Dispatch: one thread per row, 256 per workgroup (2D when large).
// Numerics: f32. Checked by test/gated-rmsnorm.test.ts against src/ref/gated-rmsnorm.ts.
struct Params { rows: u32, D: u32, eps: f32, _p: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> rstdIn: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = (wid.x + wid.y * nwg.x) * 256u + li;
  if (row >= params.rows) { return; }
  let base = row * params.D;
  let rstd = rstdIn[row];
  var wdnx = 0.0;
  for (var c = 0u; c < params.D; c++) {
    let g = z[base + c];
    let s = 1.0 / (1.0 + exp(-g));
    let d = dy[base + c];
    let n = x[base + c] * rstd * w[c];
    dz[base + c] = d * n * s * (1.0 + g * (1.0 - s));
    wdnx += w[c] * d * g * s * x[base + c];
  }
  let k = wdnx * rstd * rstd * rstd / f32(params.D);
  for (var c = 0u; c < params.D; c++) {
    let g = z[base + c];
    let dn = dy[base + c] * g / (1.0 + exp(-g));
    dx[base + c] = rstd * w[c] * dn - x[base + c] * k;
  }
}
