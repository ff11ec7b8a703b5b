// reduce_sum: out[wg] = Σ x[i] (or Σ x[i]² with squares) over this workgroup's slice of x.
// Run twice to reduce a long vector to one number: n → ceil(n / chunk) partials → 1.
// Used for the global gradient norm (torch clip_grad_norm_ with the 2-norm) and the batch loss.
// Bindings: 0 params, 1 x f32 [n], 2 out f32 [numWorkgroups].
// Dispatch: ceil(n / chunk) workgroups of 256; chunk is a multiple of 256.
// Numerics: f32 per thread in strided order, then a tree. Checked by test/adamw.test.ts.
struct Params { n: u32, chunk: u32, squares: u32, _p: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let start = wid.x * params.chunk;
  let end = min(params.n, start + params.chunk);
  var s = 0.0;
  for (var i = start + li; i < end; i += 256u) {
    let v = x[i];
    if (params.squares != 0u) { s = s + v * v; } else { s = s + v; }
  }
  red[li] = s;
  workgroupBarrier();
  for (var st = 128u; st > 0u; st >>= 1u) {
    if (li < st) { red[li] = red[li] + red[li + st]; }
    workgroupBarrier();
  }
  if (li == 0u) { out[wid.x] = red[0]; }
}
