// gdn_gates_fwd: Gated DeltaNet's per-token, per-value-head decay and write strength (Qwen3_5GatedDeltaNet.forward):
//   g = −exp(A_log)·softplus(a + dt_bias)   (log decay, ≤ 0),   beta = sigmoid(b)
// a = in_proj_a(x), b = in_proj_b(x); softplus as torch's (x for x > 20, else log(1 + exp(x))).
// Bindings: 0 params, 1 a f32 [rows, Hv], 2 b f32 [rows, Hv], 3 aLog f32 [Hv], 4 dtBias f32 [Hv] (gdn_gates_common.wgsl),
//   5 gb f32 [2, rows, Hv] (g then beta: gdn_common.wgsl's gb).
// Dispatch: one thread per (row, head), 256 per workgroup (2D when large).
// Numerics: f32. softplus as log(1 + exp(u)) loses relative accuracy where exp(u) ≪ 1 (down to 0 below
//   u ≈ −17), but g's absolute error is what matters — it is the relative error of the decay exp(g) — and that
//   stays at f32 rounding. Checked by test/gdn-gates.test.ts against src/ref/gdn-gates.ts.
@group(0) @binding(5) var<storage, read_write> gb: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  let n = params.rows * params.Hv;
  if (idx >= n) { return; }
  let u = softplusArg(idx);
  let sp = select(log(1.0 + exp(u)), u, u > 20.0);
  gb[idx] = -exp(aLog[idx % params.Hv]) * sp;
  gb[n + idx] = sigmoid(b[idx]);
}
