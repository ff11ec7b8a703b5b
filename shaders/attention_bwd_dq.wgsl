// attention_bwd_dq: dQ[t] = scale * Σ_{j ≤ t} P_tj (dO_t·v_j - Dsum_t) k_j,  P_tj = exp(q_t·k_j*scale - LSE_t)
// Training only (pos0 = 0, T queries over T keys). One query row per workgroup, 64 keys per chunk.
// window > 0: keys j > t - window only; softcap > 0: s' = softcap·tanh(s / softcap) in P, and the
// score gradient is multiplied by ds'/ds = 1 − (s' / softcap)² (attention_fwd.wgsl).
// Bindings: 0 params, 1 q, 2 k, 3 v, 4 dO, 5 lse [B,H,T], 6 Dsum [B,H,T], 7 dq f32 [B*T, H*d].
// Dispatch: B*H*T workgroups of 64 (2D grid when large); head_dim ≤ 256.
// Numerics: f32. Checked by test/attention.test.ts (src/ref/attention.ts).
struct Params { B: u32, T: u32, H: u32, Hkv: u32, d: u32, scale: f32, window: u32, softcap: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> Dsum: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;

var<workgroup> qs: array<f32, 256>;
var<workgroup> dos: array<f32, 256>;
var<workgroup> dss: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = wid.x + wid.y * nwg.x; // (b, h, t), t fastest
  if (idx >= params.B * params.H * params.T) { return; }
  let d = params.d;
  let t = idx % params.T;
  let h = (idx / params.T) % params.H;
  let b = idx / (params.T * params.H);
  let hk = h / (params.H / params.Hkv);
  let qBase = (b * params.T + t) * params.H * d + h * d;
  let kvStride = params.Hkv * d;
  let kvBase = b * params.T * kvStride + hk * d;
  for (var i = li; i < d; i += 64u) { qs[i] = q[qBase + i]; dos[i] = dO[qBase + i]; }
  workgroupBarrier();
  let L = lse[idx];
  let Dt = Dsum[idx];
  let nk = t + 1u;
  var first = 0u;
  if (params.window > 0u && nk > params.window) { first = nk - params.window; }
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var j0 = first; j0 < nk; j0 += 64u) {
    let j = j0 + li;
    var ds = 0.0;
    if (j < nk) {
      let kb = kvBase + j * kvStride;
      var s = 0.0;
      var dp = 0.0;
      for (var i = 0u; i < d; i++) { s = s + qs[i] * k[kb + i]; dp = dp + dos[i] * v[kb + i]; }
      let sc = softcapScore(s * params.scale, params.softcap); // (score, d score / d raw)
      let p = exp(sc.x - L);
      ds = p * (dp - Dt) * sc.y;
    }
    dss[li] = ds;
    workgroupBarrier();
    let nj = min(64u, nk - j0);
    for (var r = 0u; r < 4u; r++) {
      let i = li + r * 64u;
      if (i < d) {
        var a = acc[r];
        for (var jj = 0u; jj < nj; jj++) { a = a + dss[jj] * k[kvBase + (j0 + jj) * kvStride + i]; }
        acc[r] = a;
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = li + r * 64u;
    if (i < d) { dq[qBase + i] = acc[r] * params.scale; }
  }
}
