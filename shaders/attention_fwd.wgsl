// attention_fwd: causal grouped-query attention, flash-style: a workgroup owns a tile of 16 query rows
// and walks the keys they see in tiles of 32, each K/V tile loaded once into workgroup memory and
// shared by the 16 rows; online softmax (flash-attention's recurrence), so the T×T scores never exist:
//   O[b,t,h,:] = Σ_{j ≤ pos0+t} softmax_j(q·k_j * scale) v_j,   LSE[b,h,t] = log Σ_j exp(q·k_j * scale)
// Query head h reads key/value head h / (H / Hkv) (GQA). window > 0: query position p sees keys
// j > p - window only (a sliding-window layer). softcap > 0: scores become softcap·tanh(score / softcap)
// (Gemma's attn_logit_softcapping, applied after the scale, before the mask).
// Bindings: 0 params, 1 q f32 [B*Tq, H*d], 2 k f32 [B*kvRows, Hkv*d], 3 v f32 [B*kvRows, Hkv*d],
//           4 o f32 [B*Tq, H*d], 5 lse f32 [B, H, Tq], 6 dyn u32 [1] = pos0 (position of query 0; 0 in training).
//   kvRows is the rows per sequence in k/v (T in training, the cache length in generation).
// Tile rows: the rows of one (b, hk) are the (t, g) pairs, t-major (row = t * group + g, g the query head
//   within the GQA group), so the heads sharing a KV head share its tiles, and a decode step (Tq = 1)
//   still fills `group` rows. A tile's keys are the union of its rows' bands, [first(t0), pos0 + tLast]:
//   key tiles outside the causal / window band are never visited. Rows past the end are masked, not written.
// Dispatch: B * Hkv * ceil(group * Tq / 16) workgroups of 256 threads (2D grid when large). Thread
//   (r, lane) = (li / 16, li % 16) scores keys lane and lane + 16 of each key tile for row r, then owns
//   dims lane + 16m of each 64-wide head_dim chunk of row r's output. head_dim is streamed in DCH chunks
//   of 64 (DCH = ceil(d / 64) ≤ 4, a pipeline per value), so workgroup memory does not grow with d:
//   qt 16×68 + kvt 32×68 + st 16×33 f32 = 15,168 bytes (qt, kvt as vec4 rows padded by one vec4 against bank
//   conflicts: the score loop reads 4 dims a load, dot() per key).
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

override DCH: u32 = 4u; // head_dim chunks of 64: ceil(d / 64)
const BQ = 16u; // query rows per workgroup
const BK = 32u; // keys per tile
const DC = 64u; // head_dim chunk
const AS = 17u; // padded row stride, in vec4s (68 floats), of qt / kvt
const SS = 33u; // padded row stride of st
const NEG = -3.0e38;

var<workgroup> qt: array<vec4f, 272>; // [BQ][AS] vec4s: a head_dim chunk of the tile's queries
var<workgroup> kvt: array<vec4f, 544>; // [BK][AS] vec4s: a head_dim chunk of the key tile's K, then of its V
var<workgroup> st: array<f32, 528>; // [BQ][SS]: scores, then probabilities

/** The first key a query at position p (nk = p + 1 keys up to itself) sees. */
fn firstKey(nk: u32) -> u32 {
  if (params.window > 0u && nk > params.window) { return nk - params.window; }
  return 0u;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let group = params.H / params.Hkv;
  let rows = group * params.Tq; // (t, g) rows of one (b, hk)
  let nTiles = (rows + BQ - 1u) / BQ;
  let idx = wid.x + wid.y * nwg.x; // (b, hk, tile), tile fastest
  if (idx >= params.B * params.Hkv * nTiles) { return; }
  let tile = idx % nTiles;
  let hk = (idx / nTiles) % params.Hkv;
  let b = idx / (nTiles * params.Hkv);
  let d = params.d;
  let pos0 = dyn[0];
  let qStride = params.H * d;
  let kvStride = params.Hkv * d;
  let kvBase = b * params.kvRows * kvStride + hk * d;
  let row0 = tile * BQ;
  let jBegin = firstKey(pos0 + row0 / group + 1u);
  let jEnd = pos0 + (min(row0 + BQ, rows) - 1u) / group + 1u;

  let r = li / 16u;
  let lane = li % 16u;
  let row = row0 + r;
  let rowOk = row < rows;
  let t = row / group;
  let h = hk * group + row % group;
  let nk = pos0 + t + 1u; // this row's keys: first ..< nk
  let first = firstKey(nk);

  var m = NEG;
  var l = 0.0;
  var acc: array<f32, 16>; // [chunk][m]: dim c * 64 + lane + 16m of row r
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }
  for (var j0 = jBegin; j0 < jEnd; j0 += BK) {
    var s = array<f32, 2>(0.0, 0.0);
    for (var c = 0u; c < DCH; c++) {
      let c0 = c * DC;
      workgroupBarrier(); // the previous readers of qt / kvt are done
      if (DCH > 1u || j0 == jBegin) { // one chunk: the queries stay in qt across key tiles
        for (var e = li; e < BQ * DC; e += 256u) {
          let rr = row0 + e / DC;
          let i = c0 + e % DC;
          var x = 0.0;
          if (rr < rows && i < d) { x = q[(b * params.Tq + rr / group) * qStride + (hk * group + rr % group) * d + i]; }
          qt[(e / DC) * AS + (e % DC) / 4u][e % 4u] = x;
        }
      }
      for (var e = li; e < BK * DC; e += 256u) {
        let j = j0 + e / DC;
        let i = c0 + e % DC;
        var x = 0.0;
        if (j < jEnd && i < d) { x = k[kvBase + j * kvStride + i]; }
        kvt[(e / DC) * AS + (e % DC) / 4u][e % 4u] = x;
      }
      workgroupBarrier();
      let dl = min(DC, d - c0);
      for (var i4 = 0u; i4 < (dl + 3u) / 4u; i4++) { // 4 dims a step; past d the tiles hold zeros
        let qi = qt[r * AS + i4];
        s[0] = s[0] + dot(qi, kvt[lane * AS + i4]);
        s[1] = s[1] + dot(qi, kvt[(lane + 16u) * AS + i4]);
      }
    }
    var ok = array<bool, 2>(false, false);
    for (var kk = 0u; kk < 2u; kk++) {
      let j = j0 + lane + 16u * kk;
      ok[kk] = rowOk && j >= first && j < nk;
      if (ok[kk]) { s[kk] = softcapScore(s[kk] * params.scale, params.softcap).x; } else { s[kk] = NEG; }
      st[r * SS + lane + 16u * kk] = s[kk];
    }
    workgroupBarrier();
    var mx = NEG;
    for (var jj = 0u; jj < BK; jj++) { mx = max(mx, st[r * SS + jj]); }
    let mNew = max(m, mx);
    let corr = exp(m - mNew);
    workgroupBarrier(); // every row's max is read before st turns into probabilities
    for (var kk = 0u; kk < 2u; kk++) {
      var p = 0.0;
      if (ok[kk]) { p = exp(s[kk] - mNew); }
      st[r * SS + lane + 16u * kk] = p;
    }
    let nj = min(BK, jEnd - j0);
    var rowSum = 0.0;
    for (var c = 0u; c < DCH; c++) {
      let c0 = c * DC;
      workgroupBarrier();
      for (var e = li; e < BK * DC; e += 256u) {
        let j = j0 + e / DC;
        let i = c0 + e % DC;
        var x = 0.0;
        if (j < jEnd && i < d) { x = v[kvBase + j * kvStride + i]; }
        kvt[(e / DC) * AS + (e % DC) / 4u][e % 4u] = x;
      }
      workgroupBarrier(); // also publishes st's probabilities
      if (c == 0u) {
        for (var jj = 0u; jj < nj; jj++) { rowSum = rowSum + st[r * SS + jj]; }
      }
      // Keys outer, the thread's 4 dims inner: one st read feeds 4 products (each dim still sums its keys
      // in order, so the result is the same to the bit); dims past d read kvt's zeros and are not kept.
      var a = array<f32, 4>(acc[c * 4u] * corr, acc[c * 4u + 1u] * corr, acc[c * 4u + 2u] * corr, acc[c * 4u + 3u] * corr);
      for (var jj = 0u; jj < nj; jj++) {
        let pj = st[r * SS + jj];
        let at = jj * AS + lane / 4u; // dim lane + 16m: vec4 lane / 4 + 4m, component lane % 4
        a[0] = a[0] + pj * kvt[at][lane % 4u];
        a[1] = a[1] + pj * kvt[at + 4u][lane % 4u];
        a[2] = a[2] + pj * kvt[at + 8u][lane % 4u];
        a[3] = a[3] + pj * kvt[at + 12u][lane % 4u];
      }
      for (var mm = 0u; mm < 4u; mm++) {
        if (c0 + lane + 16u * mm < d) { acc[c * 4u + mm] = a[mm]; }
      }
    }
    l = l * corr + rowSum;
    m = mNew;
  }
  if (!rowOk) { return; }
  let oBase = (b * params.Tq + t) * qStride + h * d;
  for (var c = 0u; c < DCH; c++) {
    for (var mm = 0u; mm < 4u; mm++) {
      let i = c * DC + lane + 16u * mm;
      if (i < d) { o[oBase + i] = acc[c * 4u + mm] / l; }
    }
  }
  if (lane == 0u) { lse[(b * params.H + h) * params.Tq + t] = m + log(l); }
}
