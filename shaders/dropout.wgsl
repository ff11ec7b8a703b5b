// dropout: out = beta * out + x * keep / (1 - p), keep = hash(seed, stream, i) >= p   (inverted dropout)
// The mask (dropout_mask.wgsl, prepended) is a pure function of (seed, stream, index), so the backward
// pass regenerates it instead of storing it; matmuls apply the same mask as they load x
// (operand_dense_dropout.wgsl), and this kernel serves the gradient of the masked input.
// Bindings: 0 params, 1 x f32 [n], 2 out f32 [n], 3 dyn u32 [1] = step seed (written per step).
// Dispatch: n/256 workgroups (2D when large). Checked by test/elementwise.test.ts (src/ref/dropout.ts, same hash).
struct Params { n: u32, stream: u32, p: f32, beta: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dyn: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.n) { return; }
  var v = 0.0;
  if (dropoutKeep(dyn[0], params.stream, i, params.p)) { v = x[i] / (1.0 - params.p); }
  if (params.beta != 0.0) { v = v + params.beta * out[i]; }
  out[i] = v;
}
