// gdn_gates_bwd: gradients of gdn_gates_fwd with respect to a and b (A_log and dt_bias are frozen base weights):
//   da = dg·(−exp(A_log))·sigmoid(a + dt_bias)   (softplus' = sigmoid; 1 above torch's threshold 20),
//   db = dbeta·beta·(1 − beta)
// Bindings: 0 params, 1 a f32 [rows, Hv], 2 b f32 [rows, Hv], 3 aLog f32 [Hv], 4 dtBias f32 [Hv] (gdn_gates_common.wgsl),
//   5 dgb f32 [2, rows, Hv] (gdn_chunk_bwd's dg then dbeta), 6 da f32 [rows, Hv], 7 db f32 [rows, Hv].
// Dispatch: one thread per (row, head), 256 per workgroup (2D when large).
// Numerics: f32. Checked by test/gdn-gates.test.ts against src/ref/gdn-gates.ts.
@group(0) @binding(5) var<storage, read> dgb: array<f32>;
@group(0) @binding(6) var<storage, read_write> da: array<f32>;
@group(0) @binding(7) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  let n = params.rows * params.Hv;
  if (idx >= n) { return; }
  let u = softplusArg(idx);
  let slope = select(sigmoid(u), 1.0, u > 20.0);
  da[idx] = -dgb[idx] * exp(aLog[idx % params.Hv]) * slope;
  let beta = sigmoid(b[idx]);
  db[idx] = dgb[n + idx] * beta * (1.0 - beta);
}
