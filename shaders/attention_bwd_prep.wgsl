// attention_bwd_prep: Dsum[b,h,t] = Σ_i dO[b,t,h,i] * O[b,t,h,i]  (the softmax backward's row term)
// Bindings: 0 params, 1 dO f32 [B*T, H*d], 2 O f32 [B*T, H*d], 3 Dsum f32 [B, H, T].
// Dispatch: one thread per (b, h, t), 256 per workgroup. Checked by test/attention.test.ts.
struct Params { B: u32, T: u32, H: u32, d: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dO: array<f32>;
@group(0) @binding(2) var<storage, read> O: array<f32>;
@group(0) @binding(3) var<storage, read_write> Dsum: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li; // (b, h, t), t fastest
  if (idx >= params.B * params.H * params.T) { return; }
  let t = idx % params.T;
  let h = (idx / params.T) % params.H;
  let b = idx / (params.T * params.H);
  let base = (b * params.T + t) * params.H * params.d + h * params.d;
  var s = 0.0;
  for (var i = 0u; i < params.d; i++) { s = s + dO[base + i] * O[base + i]; }
  Dsum[idx] = s;
}
