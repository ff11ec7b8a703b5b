// sigmoid_gate_fwd: Qwen3.5's gated full attention output (transformers: attn_output * sigmoid(gate)):
//   y[r, h·hd + i] = a[r, h·hd + i]·sigmoid(qg[r, h·2hd + hd + i])
// the gate read in place from q_proj's output, whose heads hold hd query values then hd gate values (q_gate_split.wgsl).
// Bindings: 0 params, 1 a f32 [rows, H·hd] (attention output), 2 qg f32 [rows, H·2·hd], 3 y f32 [rows, H·hd] (o_proj's input).
// Dispatch: one thread per output element, 256 per workgroup (2D when large).
// Numerics: f32, sigmoid as 1 / (1 + exp(−g)). Checked by test/sigmoid-gate.test.ts against src/ref/sigmoid-gate.ts.
struct Params { rows: u32, H: u32, hd: u32, _p: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> qg: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  if (idx >= params.rows * params.H * params.hd) { return; }
  let i = idx % params.hd;
  let rh = idx / params.hd; // r·H + h
  let g = qg[rh * 2u * params.hd + params.hd + i];
  y[idx] = a[idx] / (1.0 + exp(-g));
}
