// sigmoid_gate_bwd: gradients of sigmoid_gate_fwd, s = sigmoid(g):
//   da = dy·s   (into the attention backward),   d qg[r, h·2hd + hd + i] = dy·a·s·(1 − s)   (the gate halves of
//   d(q_proj output); q_gate_split with dir 1 fills the query halves)
// Bindings: 0 params, 1 dy f32 [rows, H·hd], 2 a f32 [rows, H·hd], 3 qg f32 [rows, H·2·hd], 4 da f32 [rows, H·hd],
//   5 dqg f32 [rows, H·2·hd] (gate halves written, query halves untouched).
// Dispatch: one thread per element of dy, 256 per workgroup (2D when large).
// Numerics: f32. Checked by test/sigmoid-gate.test.ts against src/ref/sigmoid-gate.ts.
struct Params { rows: u32, H: u32, hd: u32, _p: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> qg: array<f32>;
@group(0) @binding(4) var<storage, read_write> da: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqg: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  if (idx >= params.rows * params.H * params.hd) { return; }
  let i = idx % params.hd;
  let gi = (idx / params.hd) * 2u * params.hd + params.hd + i;
  let s = 1.0 / (1.0 + exp(-qg[gi]));
  let d = dy[idx];
  da[idx] = d * s;
  dqg[gi] = d * a[idx] * s * (1.0 - s);
}
