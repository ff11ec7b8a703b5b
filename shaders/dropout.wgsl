// dropout: out = beta * out + x * keep / (1 - p), keep = hash(seed, stream, i) >= p   (inverted dropout)
// The mask is a pure function of (seed, stream, index), so the backward pass regenerates it instead of
// storing it: the LoRA input's dropout in the forward pass and its gradient use the same call.
// Bindings: 0 params, 1 x f32 [n], 2 out f32 [n], 3 dyn u32 [1] = step seed (written per step).
// Dispatch: n/256 workgroups (2D when large). Checked by test/elementwise.test.ts (src/ref/dropout.ts, same hash).
struct Params { n: u32, stream: u32, p: f32, beta: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dyn: array<u32>;

// PCG hash (Jarzynski & Olano 2020): cheap, good enough for dropout masks.
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.n) { return; }
  let h = pcg(i ^ pcg(dyn[0] ^ pcg(params.stream)));
  // 24 random bits -> uniform in [0, 1)
  let r = f32(h >> 8u) * (1.0 / 16777216.0);
  var v = 0.0;
  if (r >= params.p) { v = x[i] / (1.0 - params.p); }
  if (params.beta != 0.0) { v = v + params.beta * out[i]; }
  out[i] = v;
}
