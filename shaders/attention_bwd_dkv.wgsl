// attention_bwd_dkv: for key/value row j of KV head hk, summing over the query heads of its group and
// the queries t ≥ j that see it (training: pos0 = 0):
//   dV[j] = Σ_h Σ_t P_tj dO_t,   dK[j] = scale * Σ_h Σ_t P_tj (dO_t·v_j - Dsum_t) q_t
// Key-tiled: a workgroup owns 16 keys of one (b, hk) and walks the query rows that see them in tiles
// of 32, the rows being the (t, g) pairs of the group (row = t * group + g, t-major, as in
// attention_fwd.wgsl), so the sum over the group's heads is a sum over rows and needs no atomics.
// window > 0: only queries t < j + window see key j, so the walk stops at the last key's window end;
// softcap as in attention_bwd_dq.wgsl.
// Bindings: 0 params, 1 q, 2 k, 3 v, 4 dO, 5 lse [B,H,T], 6 Dsum [B,H,T], 7 dk f32 [B*T, Hkv*d], 8 dv f32 [B*T, Hkv*d].
// Dispatch: B * Hkv * ceil(T / 16) workgroups of 256 (2D grid when large). Per query tile, thread
//   (kr, lane) = (li / 16, li % 16) computes dP = dO·v and S = q·k for key kr and rows lane, lane + 16
//   (V then K chunks in kt, dO then Q chunks in qt), writes dS to st and accumulates dK from the
//   Q chunks (the last one still in qt), then writes P to st and accumulates dV from the dO chunks;
//   it owns dims lane + 16m of each 64-wide head_dim chunk of key kr.
//   Workgroup memory: kt 16×68 + qt 32×68 + st 16×33 f32 = 15,168 bytes for every head_dim ≤ 256 (the
//   K/Q-side tiles as vec4 rows, padded by one vec4: the score loops read 4 dims a load).
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

override DCH: u32 = 4u; // head_dim chunks of 64: ceil(d / 64)
const BKEY = 16u; // keys per workgroup
const BROW = 32u; // query rows per tile
const DC = 64u; // head_dim chunk
const AS = 17u; // padded row stride, in vec4s (68 floats), of kt / qt
const SS = 33u; // padded row stride of st

var<workgroup> kt: array<vec4f, 272>; // [BKEY][AS] vec4s: a head_dim chunk of the keys' V, then of their K
var<workgroup> qt: array<vec4f, 544>; // [BROW][AS] vec4s: a head_dim chunk of the row tile's dO or Q
var<workgroup> st: array<f32, 528>; // [BKEY][SS]: dS, then P

/** Head_dim chunk c of keys j0 ..< min(j0 + BKEY, T) of x (k or v) into kt. */
fn loadKeys(li: u32, c: u32, j0: u32, kvBase: u32, useK: bool) {
  let d = params.d;
  for (var e = li; e < BKEY * DC; e += 256u) {
    let j = j0 + e / DC;
    let i = c * DC + e % DC;
    var x = 0.0;
    if (j < params.T && i < d) {
      let at = kvBase + j * params.Hkv * d + i;
      if (useK) { x = k[at]; } else { x = v[at]; }
    }
    kt[(e / DC) * AS + (e % DC) / 4u][e % 4u] = x;
  }
}

/** Head_dim chunk c of rows r0 ..< min(r0 + BROW, rEnd) of x (q or dO) into qt. */
fn loadRows(li: u32, c: u32, r0: u32, rEnd: u32, group: u32, b: u32, hk: u32, useQ: bool) {
  let d = params.d;
  for (var e = li; e < BROW * DC; e += 256u) {
    let rr = r0 + e / DC;
    let i = c * DC + e % DC;
    var x = 0.0;
    if (rr < rEnd && i < d) {
      let at = (b * params.T + rr / group) * params.H * d + (hk * group + rr % group) * d + i;
      if (useQ) { x = q[at]; } else { x = dO[at]; }
    }
    qt[(e / DC) * AS + (e % DC) / 4u][e % 4u] = x;
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let T = params.T;
  let group = params.H / params.Hkv;
  let nTiles = (T + BKEY - 1u) / BKEY;
  let idx = wid.x + wid.y * nwg.x; // (b, hk, key tile), key tile fastest
  if (idx >= params.B * params.Hkv * nTiles) { return; }
  let tile = idx % nTiles;
  let hk = (idx / nTiles) % params.Hkv;
  let b = idx / (nTiles * params.Hkv);
  let d = params.d;
  let kvBase = b * T * params.Hkv * d + hk * d;
  let j0 = tile * BKEY;
  var tEnd = T; // queries j0 ..< tEnd see some key of the tile
  if (params.window > 0u) { tEnd = min(T, min(j0 + BKEY, T) - 1u + params.window); }
  let rBegin = j0 * group;
  let rEnd = tEnd * group;

  let kr = li / 16u;
  let lane = li % 16u;
  let j = j0 + kr;
  let keyOk = j < T;

  var accK: array<f32, 16>; // [chunk][m]: dim c * 64 + lane + 16m of key kr
  var accV: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { accK[i] = 0.0; accV[i] = 0.0; }
  for (var r0 = rBegin; r0 < rEnd; r0 += BROW) {
    var dp = array<f32, 2>(0.0, 0.0);
    for (var c = 0u; c < DCH; c++) {
      workgroupBarrier();
      loadKeys(li, c, j0, kvBase, false);
      loadRows(li, c, r0, rEnd, group, b, hk, false);
      workgroupBarrier();
      let dl = min(DC, d - c * DC);
      for (var i4 = 0u; i4 < (dl + 3u) / 4u; i4++) { // 4 dims a step; past d the tiles hold zeros
        let x = kt[kr * AS + i4];
        dp[0] = dp[0] + dot(x, qt[lane * AS + i4]);
        dp[1] = dp[1] + dot(x, qt[(lane + 16u) * AS + i4]);
      }
    }
    var s = array<f32, 2>(0.0, 0.0);
    for (var c = 0u; c < DCH; c++) {
      workgroupBarrier();
      loadKeys(li, c, j0, kvBase, true);
      loadRows(li, c, r0, rEnd, group, b, hk, true);
      workgroupBarrier();
      let dl = min(DC, d - c * DC);
      for (var i4 = 0u; i4 < (dl + 3u) / 4u; i4++) { // 4 dims a step; past d the tiles hold zeros
        let x = kt[kr * AS + i4];
        s[0] = s[0] + dot(x, qt[lane * AS + i4]);
        s[1] = s[1] + dot(x, qt[(lane + 16u) * AS + i4]);
      }
    }
    var p = array<f32, 2>(0.0, 0.0);
    for (var kk = 0u; kk < 2u; kk++) {
      let row = r0 + lane + 16u * kk;
      let t = row / group;
      var ds = 0.0;
      if (keyOk && row < rEnd && t >= j && (params.window == 0u || t - j < params.window)) {
        let at = (b * params.H + hk * group + row % group) * T + t;
        let sc = softcapScore(s[kk] * params.scale, params.softcap); // (score, d score / d raw)
        p[kk] = exp(sc.x - lse[at]);
        ds = p[kk] * (dp[kk] - Dsum[at]) * sc.y;
      }
      st[kr * SS + lane + 16u * kk] = ds;
    }
    let nr = min(BROW, rEnd - r0);
    for (var cc = 0u; cc < DCH; cc++) {
      let c = DCH - 1u - cc; // the last Q chunk is still in qt
      workgroupBarrier();
      if (cc > 0u) { loadRows(li, c, r0, rEnd, group, b, hk, true); }
      workgroupBarrier(); // also publishes st
      // Rows outer, the thread's 4 dims inner (as in attention_fwd.wgsl): the same sums, fewer reads.
      var a = array<f32, 4>(accK[c * 4u], accK[c * 4u + 1u], accK[c * 4u + 2u], accK[c * 4u + 3u]);
      for (var rr = 0u; rr < nr; rr++) {
        let sr = st[kr * SS + rr];
        let at = rr * AS + lane / 4u; // dim lane + 16m: vec4 lane / 4 + 4m, component lane % 4
        a[0] = a[0] + sr * qt[at][lane % 4u];
        a[1] = a[1] + sr * qt[at + 4u][lane % 4u];
        a[2] = a[2] + sr * qt[at + 8u][lane % 4u];
        a[3] = a[3] + sr * qt[at + 12u][lane % 4u];
      }
      for (var mm = 0u; mm < 4u; mm++) {
        if (c * DC + lane + 16u * mm < d) { accK[c * 4u + mm] = a[mm]; }
      }
    }
    workgroupBarrier(); // dS is read before st turns into P
    for (var kk = 0u; kk < 2u; kk++) { st[kr * SS + lane + 16u * kk] = p[kk]; }
    for (var c = 0u; c < DCH; c++) {
      workgroupBarrier();
      loadRows(li, c, r0, rEnd, group, b, hk, false);
      workgroupBarrier();
      // Rows outer, the thread's 4 dims inner (as in attention_fwd.wgsl): the same sums, fewer reads.
      var a = array<f32, 4>(accV[c * 4u], accV[c * 4u + 1u], accV[c * 4u + 2u], accV[c * 4u + 3u]);
      for (var rr = 0u; rr < nr; rr++) {
        let sr = st[kr * SS + rr];
        let at = rr * AS + lane / 4u; // dim lane + 16m: vec4 lane / 4 + 4m, component lane % 4
        a[0] = a[0] + sr * qt[at][lane % 4u];
        a[1] = a[1] + sr * qt[at + 4u][lane % 4u];
        a[2] = a[2] + sr * qt[at + 8u][lane % 4u];
        a[3] = a[3] + sr * qt[at + 12u][lane % 4u];
      }
      for (var mm = 0u; mm < 4u; mm++) {
        if (c * DC + lane + 16u * mm < d) { accV[c * 4u + mm] = a[mm]; }
      }
    }
  }
  if (!keyOk) { return; }
  let base = kvBase + j * params.Hkv * d;
  for (var c = 0u; c < DCH; c++) {
    for (var mm = 0u; mm < 4u; mm++) {
      let i = c * DC + lane + 16u * mm;
      if (i < d) {
        dk[base + i] = accK[c * 4u + mm] * params.scale;
        dv[base + i] = accV[c * 4u + mm];
      }
    }
  }
}
