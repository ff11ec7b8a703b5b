// logit_softcap: x ← cap · tanh(x / cap), in place (Gemma's final_logit_softcapping on a logits chunk).
// Its backward is folded into cross_entropy.wgsl, which sees the capped values before it overwrites them.
// Bindings: 0 params, 1 x f32 [n] (read_write). Dispatch: n/256 workgroups (2D when large).
// Numerics: f32; x / cap clamped to ±15 (tanh is ±1 there in f32). Checked by test/cross-entropy.test.ts.
struct Params { n: u32, cap: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.n) { return; }
  x[i] = params.cap * tanh(clamp(x[i] / params.cap, -15.0, 15.0));
}
