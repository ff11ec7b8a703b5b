// attention_bwd_dq: dQ[t] = scale * Σ_{j ≤ t} P_tj (dO_t·v_j - Dsum_t) k_j,  P_tj = exp(q_t·k_j*scale - LSE_t)
// Training only (pos0 = 0, T queries over T keys). Query-tiled like attention_fwd.wgsl: a workgroup owns
// 16 (t, g) rows of one (b, hk) (row = t * group + g) and walks the key tiles of 32 in their band, each
// K/V head_dim chunk loaded once into workgroup memory for the 16 rows.
// window > 0: keys j > t - window only; softcap > 0: s' = softcap·tanh(s / softcap) in P, and the
// score gradient is multiplied by ds'/ds = 1 − (s' / softcap)² (attention_softcap.wgsl).
// Bindings: 0 params, 1 q, 2 k, 3 v, 4 dO, 5 lse [B,H,T], 6 Dsum [B,H,T], 7 dq f32 [B*T, H*d].
// Dispatch: B * Hkv * ceil(group * T / 16) workgroups of 256 (2D grid when large). Per key tile, thread
//   (r, lane) = (li / 16, li % 16) computes dP = dO·v and S = q·k for keys lane, lane + 16 of row r
//   (dO then Q chunks in qt, V then K chunks in kvt), writes dS to st, then accumulates dims
//   lane + 16m of each 64-wide chunk of row r's dQ from the K chunks (the last one still in kvt).
//   Workgroup memory: qt 16×68 + kvt 32×68 + st 16×33 f32 = 15,168 bytes for every head_dim ≤ 256 (the
//   Q/K-side tiles as vec4 rows, padded by one vec4: the score loops read 4 dims a load).
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

override DCH: u32 = 4u; // head_dim chunks of 64: ceil(d / 64)
const BQ = 16u; // query rows per workgroup
const BK = 32u; // keys per tile
const DC = 64u; // head_dim chunk
const AS = 17u; // padded row stride, in vec4s (68 floats), of qt / kvt
const SS = 33u; // padded row stride of st

var<workgroup> qt: array<vec4f, 272>; // [BQ][AS] vec4s: a head_dim chunk of the tile's dO, then of its Q
var<workgroup> kvt: array<vec4f, 544>; // [BK][AS] vec4s: a head_dim chunk of the key tile's V, then of its K
var<workgroup> st: array<f32, 528>; // [BQ][SS]: dS

/** Head_dim chunk c of the tile's rows of x (q or dO) into qt. */
fn loadRows(li: u32, c: u32, row0: u32, rows: u32, group: u32, b: u32, hk: u32, useQ: bool) {
  let d = params.d;
  for (var e = li; e < BQ * DC; e += 256u) {
    let rr = row0 + e / DC;
    let i = c * DC + e % DC;
    var x = 0.0;
    if (rr < rows && i < d) {
      let at = (b * params.T + rr / group) * params.H * d + (hk * group + rr % group) * d + i;
      if (useQ) { x = q[at]; } else { x = dO[at]; }
    }
    qt[(e / DC) * AS + (e % DC) / 4u][e % 4u] = x;
  }
}

/** Head_dim chunk c of keys j0 ..< min(j0 + BK, jEnd) of x (k or v) into kvt. */
fn loadKeys(li: u32, c: u32, j0: u32, jEnd: u32, kvBase: u32, useK: bool) {
  let d = params.d;
  for (var e = li; e < BK * DC; e += 256u) {
    let j = j0 + e / DC;
    let i = c * DC + e % DC;
    var x = 0.0;
    if (j < jEnd && i < d) {
      let at = kvBase + j * params.Hkv * d + i;
      if (useK) { x = k[at]; } else { x = v[at]; }
    }
    kvt[(e / DC) * AS + (e % DC) / 4u][e % 4u] = x;
  }
}

fn firstKey(nk: u32) -> u32 {
  if (params.window > 0u && nk > params.window) { return nk - params.window; }
  return 0u;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let group = params.H / params.Hkv;
  let rows = group * params.T;
  let nTiles = (rows + BQ - 1u) / BQ;
  let idx = wid.x + wid.y * nwg.x; // (b, hk, tile), tile fastest
  if (idx >= params.B * params.Hkv * nTiles) { return; }
  let tile = idx % nTiles;
  let hk = (idx / nTiles) % params.Hkv;
  let b = idx / (nTiles * params.Hkv);
  let d = params.d;
  let kvBase = b * params.T * params.Hkv * d + hk * d;
  let row0 = tile * BQ;
  let jBegin = firstKey(row0 / group + 1u);
  let jEnd = (min(row0 + BQ, rows) - 1u) / group + 1u;

  let r = li / 16u;
  let lane = li % 16u;
  let row = row0 + r;
  let rowOk = row < rows;
  let t = row / group;
  let h = hk * group + row % group;
  let nk = t + 1u;
  let first = firstKey(nk);
  var L = 0.0;
  var Dt = 0.0;
  if (rowOk) {
    L = lse[(b * params.H + h) * params.T + t];
    Dt = Dsum[(b * params.H + h) * params.T + t];
  }

  var acc: array<f32, 16>; // [chunk][m]: dim c * 64 + lane + 16m of row r
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }
  for (var j0 = jBegin; j0 < jEnd; j0 += BK) {
    var dp = array<f32, 2>(0.0, 0.0);
    for (var c = 0u; c < DCH; c++) {
      workgroupBarrier();
      loadRows(li, c, row0, rows, group, b, hk, false);
      loadKeys(li, c, j0, jEnd, kvBase, false);
      workgroupBarrier();
      let dl = min(DC, d - c * DC);
      for (var i4 = 0u; i4 < (dl + 3u) / 4u; i4++) { // 4 dims a step; past d the tiles hold zeros
        let x = qt[r * AS + i4];
        dp[0] = dp[0] + dot(x, kvt[lane * AS + i4]);
        dp[1] = dp[1] + dot(x, kvt[(lane + 16u) * AS + i4]);
      }
    }
    var s = array<f32, 2>(0.0, 0.0);
    for (var c = 0u; c < DCH; c++) {
      workgroupBarrier();
      loadRows(li, c, row0, rows, group, b, hk, true);
      loadKeys(li, c, j0, jEnd, kvBase, true);
      workgroupBarrier();
      let dl = min(DC, d - c * DC);
      for (var i4 = 0u; i4 < (dl + 3u) / 4u; i4++) { // 4 dims a step; past d the tiles hold zeros
        let x = qt[r * AS + i4];
        s[0] = s[0] + dot(x, kvt[lane * AS + i4]);
        s[1] = s[1] + dot(x, kvt[(lane + 16u) * AS + i4]);
      }
    }
    for (var kk = 0u; kk < 2u; kk++) {
      let j = j0 + lane + 16u * kk;
      var ds = 0.0;
      if (rowOk && j >= first && j < nk) {
        let sc = softcapScore(s[kk] * params.scale, params.softcap); // (score, d score / d raw)
        ds = exp(sc.x - L) * (dp[kk] - Dt) * sc.y;
      }
      st[r * SS + lane + 16u * kk] = ds;
    }
    let nj = min(BK, jEnd - j0);
    for (var cc = 0u; cc < DCH; cc++) {
      let c = DCH - 1u - cc; // the last K chunk is still in kvt
      workgroupBarrier();
      if (cc > 0u) { loadKeys(li, c, j0, jEnd, kvBase, true); }
      workgroupBarrier(); // also publishes st
      // Keys outer, the thread's 4 dims inner (as in attention_fwd.wgsl): the same sums, fewer reads.
      var a = array<f32, 4>(acc[c * 4u], acc[c * 4u + 1u], acc[c * 4u + 2u], acc[c * 4u + 3u]);
      for (var jj = 0u; jj < nj; jj++) {
        let sj = st[r * SS + jj];
        let at = jj * AS + lane / 4u; // dim lane + 16m: vec4 lane / 4 + 4m, component lane % 4
        a[0] = a[0] + sj * kvt[at][lane % 4u];
        a[1] = a[1] + sj * kvt[at + 4u][lane % 4u];
        a[2] = a[2] + sj * kvt[at + 8u][lane % 4u];
        a[3] = a[3] + sj * kvt[at + 12u][lane % 4u];
      }
      for (var mm = 0u; mm < 4u; mm++) {
        if (c * DC + lane + 16u * mm < d) { acc[c * 4u + mm] = a[mm]; }
      }
    }
  }
  if (!rowOk) { return; }
  let base = (b * params.T + t) * params.H * d + h * d;
  for (var c = 0u; c < DCH; c++) {
    for (var mm = 0u; mm < 4u; mm++) {
      let i = c * DC + lane + 16u * mm;
      if (i < d) { dq[base + i] = acc[c * 4u + mm] * params.scale; }
    }
  }
}
