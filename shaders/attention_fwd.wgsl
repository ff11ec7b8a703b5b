// attention_fwd: causal grouped-query attention, one query row per workgroup, online softmax over keys
// (flash-attention's recurrence) so the T×T score matrix never exists:
//   O[b,t,h,:] = Σ_{j ≤ pos0+t} softmax_j(q·k_j * scale) v_j,   LSE[b,h,t] = log Σ_j exp(q·k_j * scale)
// Query head h reads key/value head h / (H / Hkv) (GQA). window > 0: query position p sees keys
// j > p - window only (a sliding-window layer). softcap > 0: scores become softcap·tanh(score / softcap)
// (Gemma's attn_logit_softcapping, applied after the scale, before the mask).
// Bindings: 0 params, 1 q f32 [B*Tq, H*d], 2 k f32 [B*kvRows, Hkv*d], 3 v f32 [B*kvRows, Hkv*d],
//           4 o f32 [B*Tq, H*d], 5 lse f32 [B, H, Tq], 6 dyn u32 [1] = pos0 (position of query 0; 0 in training).
//   kvRows is the rows per sequence in k/v (T in training, the cache length in generation).
// Dispatch: B*H*Tq workgroups of 64 threads (2D grid when large). Thread j scores key j0+j of each chunk of
//   64 keys; then each thread owns dims tid, tid+64, ... of the output (head_dim ≤ 256).
// Numerics: f32 scores, running max and sum in f32. Checked by test/attention.test.ts (src/ref/attention.ts).
struct Params {
  B: u32, Tq: u32, H: u32, Hkv: u32, d: u32, kvRows: u32, scale: f32, window: u32,
  softcap: f32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dyn: array<u32>;

var<workgroup> qs: array<f32, 256>;
var<workgroup> ps: array<f32, 64>;
var<workgroup> red: array<f32, 64>;

fn reduceMax(li: u32, x: f32) -> f32 {
  red[li] = x;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduceSum(li: u32, x: f32) -> f32 {
  red[li] = x;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = wid.x + wid.y * nwg.x; // (b, h, t), t fastest
  if (idx >= params.B * params.H * params.Tq) { return; }
  let d = params.d;
  let t = idx % params.Tq;
  let h = (idx / params.Tq) % params.H;
  let b = idx / (params.Tq * params.H);
  let hk = h / (params.H / params.Hkv);
  let qBase = (b * params.Tq + t) * params.H * d + h * d;
  let kvStride = params.Hkv * d;
  let kvBase = b * params.kvRows * kvStride + hk * d;
  for (var i = li; i < d; i += 64u) { qs[i] = q[qBase + i]; }
  workgroupBarrier();
  let nk = dyn[0] + t + 1u; // causal: keys 0 ..= pos0 + t
  var first = 0u; // sliding window: keys nk - window .. nk - 1
  if (params.window > 0u && nk > params.window) { first = nk - params.window; }
  var m = -3.0e38;
  var l = 0.0;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var j0 = first; j0 < nk; j0 += 64u) {
    let j = j0 + li;
    var s = -3.0e38;
    if (j < nk) {
      var dot = 0.0;
      let kb = kvBase + j * kvStride;
      for (var i = 0u; i < d; i++) { dot = dot + qs[i] * k[kb + i]; }
      s = softcapScore(dot * params.scale, params.softcap).x;
    }
    let mNew = max(m, reduceMax(li, s));
    var p = 0.0;
    if (j < nk) { p = exp(s - mNew); }
    ps[li] = p;
    let corr = exp(m - mNew);
    l = l * corr + reduceSum(li, p); // reduceSum's barriers also publish ps
    let nj = min(64u, nk - j0);
    for (var r = 0u; r < 4u; r++) {
      let i = li + r * 64u;
      if (i < d) {
        var a = acc[r] * corr;
        for (var jj = 0u; jj < nj; jj++) { a = a + ps[jj] * v[kvBase + (j0 + jj) * kvStride + i]; }
        acc[r] = a;
      }
    }
    m = mNew;
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = li + r * 64u;
    if (i < d) { o[qBase + i] = acc[r] / l; }
  }
  if (li == 0u) { lse[(b * params.H + h) * params.Tq + t] = m + log(l); }
}
