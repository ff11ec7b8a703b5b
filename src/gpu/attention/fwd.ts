// attention_fwd on tensor cores: the generated twin of shaders/attention_fwd.wgsl (same params, bindings,
// rows and masks), with QKᵀ and P·V as subgroup-matrix products:
//   O[b,t,h,:] = Σ_{j ≤ pos0+t} softmax_j(q·k_j * scale) v_j,   LSE[b,h,t] = log Σ_j exp(q·k_j * scale)
// A workgroup owns R = 16·SUBGROUPS (t, g) rows of one (b, hk) (row = t·group + g) and walks the keys
// they see in tiles of BK; online softmax (flash attention): per key tile
//   S = Q·Kᵀ (fresh accumulators, staged to Cs) → one invocation per row applies scale, soft cap and
//   mask, updates the row's max m and sum l, writes P = exp(S − m) as f16 into As and corr = exp(m_old − m)
//   → P·V (fresh accumulators, CHUNK columns at a time through Cs) → every invocation rescales the output
//   elements it owns (registers) by corr and adds the tile's. The scores never leave the workgroup.
// Tiles: As Q [R][D] (loaded once), P [R][BK]; Bs K [BK][D], then Vᵀ [D][BK]; Cs [R][max(BK, CHUNK)].
// Dispatch: B·Hkv·ceil(group·Tq / R) workgroups (2D grid when large) of SUBGROUPS × subgroup size.
// Numerics: Q, K, V and P rounded to f16; scores, m, l, corr and O accumulated in f32. Against the
// reference on f16-rounded q, k, v the only extra error is P's rounding: |ΔO| ≤ 2⁻¹¹ Σ_j p_j|v_j| / l.
// Checked by test/attention-mma.test.ts (emulated, against src/ref/attention.ts).
import type { GemmVariant } from '../gemm/config';
import type { SubgroupMatrixPrimitives } from '../gemm/primitives';
import type { AttentionTiles } from './tiles';
import { CHUNK, FIRST_KEY_WGSL, SUBGROUP_ROWS, fillTile, mmaLoop, storePair } from './tiles';

export function attentionFwdBody(v: GemmVariant, p: SubgroupMatrixPrimitives, t: AttentionTiles): string {
  const { M: FM, N: FN } = v.frag;
  const SG = t.subgroups;
  const R = SG * SUBGROUP_ROWS;
  const BK = t.inner;
  const D = t.D;
  const THREADS = SG * v.subgroupSize;
  const SW = Math.max(BK, CHUNK); // staging row stride
  const NCH = D / CHUNK;
  const OWN = Math.ceil((R * CHUNK) / THREADS); // output elements an invocation owns per chunk
  const P0 = R * D; // P's offset in As
  return /* wgsl */ `
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

const SUBGROUPS = ${SG}u;
const THREADS = ${THREADS}u;
const R = ${R}u;
const BK = ${BK}u;
const SW = ${SW}u;
const NEG = -3.0e38;
${p.decls(R * (D + BK), BK * D, R * SW)}
var<workgroup> mRow: array<f32, ${R}>; // running max of each row's scores
var<workgroup> lRow: array<f32, ${R}>; // running sum of exp(score − m)
var<workgroup> cRow: array<f32, ${R}>; // this key tile's rescale exp(m_old − m)
${FIRST_KEY_WGSL}

var<private> gB: u32;
var<private> gHk: u32;
var<private> gGroup: u32;
var<private> gRows: u32;
var<private> gKvBase: u32;
var<private> gJEnd: u32;

fn qVal(rr: u32, i: u32) -> f32 {
  if (rr >= gRows || i >= params.d) { return 0.0; }
  return q[(gB * params.Tq + rr / gGroup) * params.H * params.d + (gHk * gGroup + rr % gGroup) * params.d + i];
}
fn kVal(j: u32, i: u32) -> f32 {
  if (j >= gJEnd || i >= params.d) { return 0.0; }
  return k[gKvBase + j * params.Hkv * params.d + i];
}
fn vVal(j: u32, i: u32) -> f32 {
  if (j >= gJEnd || i >= params.d) { return 0.0; }
  return v[gKvBase + j * params.Hkv * params.d + i];
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32${p.entryArgs ? ', ' + p.entryArgs : ''}) {
  ${p.prologue}
  let group = params.H / params.Hkv;
  let rows = group * params.Tq;
  let nTiles = (rows + R - 1u) / R;
  let idx = wid.x + wid.y * nwg.x; // (b, hk, tile), tile fastest
  if (idx >= params.B * params.Hkv * nTiles) { return; }
  let tile = idx % nTiles;
  let hk = (idx / nTiles) % params.Hkv;
  let b = idx / (nTiles * params.Hkv);
  let pos0 = dyn[0];
  let row0 = tile * R;
  let jBegin = firstKey(pos0 + row0 / group + 1u);
  let jEnd = pos0 + (min(row0 + R, rows) - 1u) / group + 1u;
  gB = b;
  gHk = hk;
  gGroup = group;
  gRows = rows;
  gKvBase = b * params.kvRows * params.Hkv * params.d + hk * params.d;
  gJEnd = jEnd;

  ${fillTile(p, 'As', 0, R, D, (r, c) => `qVal(row0 + ${r}, ${c})`)}
  for (var r = li; r < R; r += THREADS) {
    mRow[r] = NEG;
    lRow[r] = 0.0;
  }
  var acc: array<f32, ${NCH * OWN}>; // [chunk][u]: element li + u·THREADS of the chunk's R × CHUNK block
  for (var j0 = jBegin; j0 < jEnd; j0 += BK) {
    workgroupBarrier(); // the previous tile's readers of Bs, P and Cs are done
    ${fillTile(p, 'Bs', 0, BK, D, (r, c) => `kVal(j0 + ${r}, ${c})`)}
    workgroupBarrier();
    if (sg < SUBGROUPS) {
      for (var m = 0u; m < ${SUBGROUP_ROWS / FM}u; m++) {
        for (var n = 0u; n < ${BK / FN}u; n++) {
          // Zeroed by the constructor: a loop-scoped var without one kept its previous iteration's value
          // on Dawn + SwiftShader (every fresh accumulator of these kernels is written so).
          var s = ${p.accType}();
          ${mmaLoop(p, v.frag, 's', `(sg * ${SUBGROUP_ROWS}u + m * ${FM}u) * ${D}u`, D, `n * ${FN * D}u`, D, D)}
          ${p.store(`(sg * ${SUBGROUP_ROWS}u + m * ${FM}u) * SW + n * ${FN}u`, 's', 'SW')}
        }
      }
    }
    workgroupBarrier(); // scores staged; K no longer read
    for (var r = li; r < R; r += THREADS) {
      let row = row0 + r;
      let nk = pos0 + row / group + 1u; // this row's keys: firstKey(nk) ..< nk
      let first = firstKey(nk);
      var mx = NEG;
      for (var jj = 0u; jj < BK; jj++) {
        let j = j0 + jj;
        var s = NEG;
        if (row < rows && j >= first && j < nk) { s = softcapScore(Cs[r * SW + jj] * params.scale, params.softcap).x; }
        Cs[r * SW + jj] = s;
        mx = max(mx, s);
      }
      let mOld = mRow[r];
      let mNew = max(mOld, mx);
      var sum = 0.0;
      for (var jp = 0u; jp < BK / 2u; jp++) {
        let s0 = Cs[r * SW + 2u * jp];
        let s1 = Cs[r * SW + 2u * jp + 1u];
        var p0 = 0.0;
        var p1 = 0.0;
        if (s0 > NEG) { p0 = exp(s0 - mNew); }
        if (s1 > NEG) { p1 = exp(s1 - mNew); }
        sum = sum + p0 + p1;
        ${storePair(p, 'As', `${P0 / 2}u + r * (BK / 2u) + jp`, 'p0', 'p1')}
      }
      let corr = exp(mOld - mNew);
      mRow[r] = mNew;
      lRow[r] = lRow[r] * corr + sum;
      cRow[r] = corr;
    }
    ${fillTile(p, 'Bs', 0, D, BK, (r, c) => `vVal(j0 + ${c}, ${r})`)}
    workgroupBarrier(); // P, corr and Vᵀ published
    for (var c = 0u; c < ${NCH}u; c++) {
      if (sg < SUBGROUPS) {
        for (var m = 0u; m < ${SUBGROUP_ROWS / FM}u; m++) {
          for (var n = 0u; n < ${CHUNK / FN}u; n++) {
            var pv = ${p.accType}();
            ${mmaLoop(p, v.frag, 'pv', `${P0}u + (sg * ${SUBGROUP_ROWS}u + m * ${FM}u) * BK`, BK, `(c * ${CHUNK}u + n * ${FN}u) * BK`, BK, BK)}
            ${p.store(`(sg * ${SUBGROUP_ROWS}u + m * ${FM}u) * SW + n * ${FN}u`, 'pv', 'SW')}
          }
        }
      }
      workgroupBarrier();
      for (var u = 0u; u < ${OWN}u; u++) {
        let e = li + u * THREADS;
        if (e < R * ${CHUNK}u) {
          let r = e / ${CHUNK}u;
          acc[c * ${OWN}u + u] = acc[c * ${OWN}u + u] * cRow[r] + Cs[r * SW + e % ${CHUNK}u];
        }
      }
      workgroupBarrier(); // Cs read before the next chunk is staged
    }
  }
  let qStride = params.H * params.d;
  for (var c = 0u; c < ${NCH}u; c++) {
    for (var u = 0u; u < ${OWN}u; u++) {
      let e = li + u * THREADS;
      let r = e / ${CHUNK}u;
      let row = row0 + r;
      let i = c * ${CHUNK}u + e % ${CHUNK}u;
      if (e < R * ${CHUNK}u && row < rows && i < params.d) {
        o[(b * params.Tq + row / group) * qStride + (hk * group + row % group) * params.d + i] = acc[c * ${OWN}u + u] / lRow[r];
      }
    }
  }
  for (var r = li; r < R; r += THREADS) {
    let row = row0 + r;
    if (row < rows) { lse[(b * params.H + hk * group + row % group) * params.Tq + row / group] = mRow[r] + log(lRow[r]); }
  }
}
`;
}
