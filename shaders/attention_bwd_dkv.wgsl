// attention_bwd_dkv: for key/value row j of KV head hk, summing over the query heads of its group and
// the queries t ≥ j that see it (training: pos0 = 0):
//   dV[j] = Σ_h Σ_t P_tj dO_t,   dK[j] = scale * Σ_h Σ_t P_tj (dO_t·v_j - Dsum_t) q_t
// Bindings: 0 params, 1 q, 2 k, 3 v, 4 dO, 5 lse [B,H,T], 6 Dsum [B,H,T], 7 dk f32 [B*T, Hkv*d], 8 dv f32 [B*T, Hkv*d].
// window > 0: only queries t < j + window see key j; softcap as in attention_bwd_dq.wgsl.
// Dispatch: B*Hkv*T workgroups of 64 (2D grid when large); thread i scores query t0+i of each chunk.
// Numerics: f32. Checked by test/attention.test.ts (src/ref/attention.ts).
struct Params { B: u32, T: u32, H: u32, Hkv: u32, d: u32, scale: f32, window: u32, softcap: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> Dsum: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

var<workgroup> ks: array<f32, 256>;
var<workgroup> vs: array<f32, 256>;
var<workgroup> pss: array<f32, 64>;
var<workgroup> dss: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = wid.x + wid.y * nwg.x; // (b, hk, j), j fastest
  if (idx >= params.B * params.Hkv * params.T) { return; }
  let d = params.d;
  let j = idx % params.T;
  let hk = (idx / params.T) % params.Hkv;
  let b = idx / (params.T * params.Hkv);
  let group = params.H / params.Hkv;
  let kvStride = params.Hkv * d;
  let kvBase = (b * params.T + j) * kvStride + hk * d;
  for (var i = li; i < d; i += 64u) { ks[i] = k[kvBase + i]; vs[i] = v[kvBase + i]; }
  workgroupBarrier();
  var accK = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  var accV = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  let qStride = params.H * d;
  var tEnd = params.T; // queries j ..< tEnd see key j
  if (params.window > 0u) { tEnd = min(params.T, j + params.window); }
  for (var g = 0u; g < group; g++) {
    let h = hk * group + g;
    let rowBase = (b * params.H + h) * params.T;
    for (var t0 = j; t0 < tEnd; t0 += 64u) {
      let t = t0 + li;
      var p = 0.0;
      var ds = 0.0;
      if (t < tEnd) {
        let qb = (b * params.T + t) * qStride + h * d;
        var s = 0.0;
        var dp = 0.0;
        for (var i = 0u; i < d; i++) { s = s + q[qb + i] * ks[i]; dp = dp + dO[qb + i] * vs[i]; }
        let sc = softcapScore(s * params.scale, params.softcap); // (score, d score / d raw)
        p = exp(sc.x - lse[rowBase + t]);
        ds = p * (dp - Dsum[rowBase + t]) * sc.y;
      }
      pss[li] = p;
      dss[li] = ds;
      workgroupBarrier();
      let nt = min(64u, tEnd - t0);
      for (var r = 0u; r < 4u; r++) {
        let i = li + r * 64u;
        if (i < d) {
          var ak = accK[r];
          var av = accV[r];
          for (var tt = 0u; tt < nt; tt++) {
            let qb = (b * params.T + t0 + tt) * qStride + h * d;
            ak = ak + dss[tt] * q[qb + i];
            av = av + pss[tt] * dO[qb + i];
          }
          accK[r] = ak;
          accV[r] = av;
        }
      }
      workgroupBarrier();
    }
  }
  for (var r = 0u; r < 4u; r++) {
    let i = li + r * 64u;
    if (i < d) {
      dk[kvBase + i] = accK[r] * params.scale;
      dv[kvBase + i] = accV[r];
    }
  }
}
