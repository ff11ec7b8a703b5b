// kv_append: cache[b, pos0 + t, :] = src[b * Tq + t, :] — writes this step's keys or values into the
// KV cache at the position held in dyn[0], so one recorded decode program serves every position.
// Bindings: 0 params, 1 src f32 [B*Tq, width], 2 cache f32 [B*capacity, width], 3 dyn u32 [1] = pos0.
// Dispatch: one thread per element, 256 per workgroup (2D grid when large). Checked by test/generate.test.ts.
struct Params { B: u32, Tq: u32, width: u32, capacity: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;
@group(0) @binding(3) var<storage, read> dyn: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.B * params.Tq * params.width) { return; }
  let c = i % params.width;
  let row = i / params.width;
  let t = row % params.Tq;
  let b = row / params.Tq;
  let pos = dyn[0] + t;
  if (pos >= params.capacity) { return; }
  cache[(b * params.capacity + pos) * params.width + c] = src[i];
}
