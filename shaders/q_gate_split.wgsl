// q_gate_split: Qwen3.5's full attention projects each head's query and output gate together: q_proj's
// output qg [rows, H, 2·hd] holds, per head, hd query values then hd gate values (transformers' view(..., -1,
// 2·hd) then chunk(2, -1)). This kernel moves the query halves between qg and a packed q [rows, H·hd]:
//   dir 0 (forward):  q[r, h·hd + i] = qg[r, h·2hd + i]
//   dir 1 (backward): qg[r, h·2hd + i] = q[r, h·hd + i]   (dq into d(q_proj output); the gate halves are
//                      written by sigmoid_gate_bwd)
// The gate halves stay in qg, where sigmoid_gate_{fwd,bwd} read them.
// Bindings: 0 params, 1 qg f32 [rows, H·2·hd], 2 q f32 [rows, H·hd] (dir 0 writes q, dir 1 writes qg).
// Dispatch: one thread per query element, 256 per workgroup (2D when large). Numerics: copies.
// Checked by test/sigmoid-gate.test.ts against src/ref/sigmoid-gate.ts.
struct Params { rows: u32, H: u32, hd: u32, dir: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> qg: array<f32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  if (idx >= params.rows * params.H * params.hd) { return; }
  let i = idx % params.hd;
  let h = (idx / params.hd) % params.H;
  let r = idx / (params.hd * params.H);
  let src = (r * params.H + h) * 2u * params.hd + i;
  if (params.dir == 0u) { q[idx] = qg[src]; } else { qg[src] = q[idx]; }
}
