// attention_bwd_dq on tensor cores: the generated twin of shaders/attention_bwd_dq.wgsl (same params,
// bindings, rows and masks; training only, pos0 = 0):
//   dQ[t] = scale · Σ_{j ≤ t} dS_tj k_j,  dS_tj = P_tj (dO_t·v_j − Dsum_t) · ds'/ds,  P_tj = exp(s_tj − LSE_t)
// A workgroup owns R = 16·SUBGROUPS (t, g) rows of one (b, hk); Q and dO stay in As. Per key tile of BK:
//   S = Q·Kᵀ and dP = dO·Vᵀ (fresh accumulators, staged to Cs) → every invocation turns pairs of them
//   into dS (f16, into As) while Kᵀ replaces K in Bs → dQ += dS·K in accumulators that live across the
//   key tiles (no rescaling: P comes from the saved LSE). The epilogue stages dQ fragment column by column.
// Tiles: As Q, dO [R][D], dS [R][BK]; Bs K [BK][D] (then Kᵀ [D][BK]), V [BK][D]; Cs S, dP [R][BK].
// Dispatch: B·Hkv·ceil(group·T / R) workgroups (2D grid when large) of SUBGROUPS × subgroup size.
// Numerics: q, k, v, dO and dS rounded to f16, everything else f32: against the reference on f16-rounded
// inputs the extra error is dS's rounding, |ΔdQ| ≤ 2⁻¹¹ scale Σ_j |dS_tj||k_j|.
// Checked by test/attention-mma.test.ts (emulated, against src/ref/attention.ts).
import type { GemmVariant } from '../gemm/config';
import type { SubgroupMatrixPrimitives } from '../gemm/primitives';
import type { AttentionTiles } from './tiles';
import { FIRST_KEY_WGSL, SUBGROUP_ROWS, fillTile, mmaLoop, storePair } from './tiles';
import { BWD_PRELUDE } from './bwd-common';

export function attentionBwdDqBody(v: GemmVariant, p: SubgroupMatrixPrimitives, t: AttentionTiles): string {
  const { M: FM, N: FN } = v.frag;
  const SG = t.subgroups;
  const R = SG * SUBGROUP_ROWS;
  const BK = t.inner;
  const D = t.D;
  const THREADS = SG * v.subgroupSize;
  const DO0 = R * D; // dO's offset in As
  const DS0 = 2 * R * D; // dS's offset in As
  const V0 = BK * D; // V's offset in Bs
  const DP0 = R * BK; // dP's offset in Cs
  const MF = SUBGROUP_ROWS / FM;
  const NF = D / FN;
  return /* wgsl */ `
${BWD_PRELUDE}
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;

const SUBGROUPS = ${SG}u;
const THREADS = ${THREADS}u;
const R = ${R}u;
const BK = ${BK}u;
${p.decls(R * (2 * D + BK), 2 * BK * D, Math.max(2 * R * BK, R * FN))}
var<workgroup> lseRow: array<f32, ${R}>;
var<workgroup> dRow: array<f32, ${R}>;
${FIRST_KEY_WGSL}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32${p.entryArgs ? ', ' + p.entryArgs : ''}) {
  ${p.prologue}
  let group = params.H / params.Hkv;
  let rows = group * params.T;
  let nTiles = (rows + R - 1u) / R;
  let idx = wid.x + wid.y * nwg.x; // (b, hk, tile), tile fastest
  if (idx >= params.B * params.Hkv * nTiles) { return; }
  let tile = idx % nTiles;
  let hk = (idx / nTiles) % params.Hkv;
  let b = idx / (nTiles * params.Hkv);
  let row0 = tile * R;
  let jBegin = firstKey(row0 / group + 1u);
  let jEnd = (min(row0 + R, rows) - 1u) / group + 1u;
  setBlock(b, hk, group, rows, jEnd);

  ${fillTile(p, 'As', 0, R, D, (r, c) => `rowVal(true, row0 + ${r}, ${c})`)}
  ${fillTile(p, 'As', DO0, R, D, (r, c) => `rowVal(false, row0 + ${r}, ${c})`)}
  for (var r = li; r < R; r += THREADS) {
    let at = rowStat(row0 + r);
    if (row0 + r < rows) {
      lseRow[r] = lse[at];
      dRow[r] = Dsum[at];
    }
  }
  var acc: array<array<${p.accType}, ${NF}>, ${MF}>; // dQ / scale of the subgroup's rows
  for (var j0 = jBegin; j0 < jEnd; j0 += BK) {
    workgroupBarrier(); // the previous tile's readers of Bs and dS are done
    ${fillTile(p, 'Bs', 0, BK, D, (r, c) => `keyVal(true, j0 + ${r}, ${c})`)}
    ${fillTile(p, 'Bs', V0, BK, D, (r, c) => `keyVal(false, j0 + ${r}, ${c})`)}
    workgroupBarrier();
    if (sg < SUBGROUPS) {
      for (var m = 0u; m < ${MF}u; m++) {
        let rr = sg * ${SUBGROUP_ROWS}u + m * ${FM}u;
        for (var n = 0u; n < ${BK / FN}u; n++) {
          var s = ${p.accType}();
          ${mmaLoop(p, v.frag, 's', `rr * ${D}u`, D, `n * ${FN * D}u`, D, D)}
          ${p.store(`rr * BK + n * ${FN}u`, 's', 'BK')}
          var dp = ${p.accType}();
          ${mmaLoop(p, v.frag, 'dp', `${DO0}u + rr * ${D}u`, D, `${V0}u + n * ${FN * D}u`, D, D)}
          ${p.store(`${DP0}u + rr * BK + n * ${FN}u`, 'dp', 'BK')}
        }
      }
    }
    workgroupBarrier(); // S and dP staged; K no longer read
    for (var e = li; e < R * BK / 2u; e += THREADS) {
      let r = e / (BK / 2u);
      let jj = 2u * (e % (BK / 2u));
      let row = row0 + r;
      let nk = row / group + 1u;
      let first = firstKey(nk);
      var ds = vec2f(0.0);
      for (var x = 0u; x < 2u; x++) {
        let j = j0 + jj + x;
        if (row < rows && j >= first && j < nk) {
          let sc = softcapScore(Cs[r * BK + jj + x] * params.scale, params.softcap); // (score, d score / d raw)
          ds[x] = exp(sc.x - lseRow[r]) * (Cs[${DP0}u + r * BK + jj + x] - dRow[r]) * sc.y;
        }
      }
      ${storePair(p, 'As', `${DS0 / 2}u + e`, 'ds.x', 'ds.y')}
    }
    ${fillTile(p, 'Bs', 0, D, BK, (r, c) => `keyVal(true, j0 + ${c}, ${r})`)}
    workgroupBarrier(); // dS and Kᵀ published
    if (sg < SUBGROUPS) {
      for (var m = 0u; m < ${MF}u; m++) {
        for (var n = 0u; n < ${NF}u; n++) {
          ${mmaLoop(p, v.frag, 'acc[m][n]', `${DS0}u + (sg * ${SUBGROUP_ROWS}u + m * ${FM}u) * BK`, BK, `n * ${FN}u * BK`, BK, BK)}
        }
      }
    }
  }
  let qStride = params.H * params.d;
  for (var n = 0u; n < ${NF}u; n++) {
    workgroupBarrier(); // Cs's previous readers are done
    if (sg < SUBGROUPS) {
      for (var m = 0u; m < ${MF}u; m++) {
        ${p.store(`(sg * ${SUBGROUP_ROWS}u + m * ${FM}u) * ${FN}u`, 'acc[m][n]', `${FN}u`)}
      }
    }
    workgroupBarrier();
    for (var e = li; e < R * ${FN}u; e += THREADS) {
      let row = row0 + e / ${FN}u;
      let i = n * ${FN}u + e % ${FN}u;
      if (row < rows && i < params.d) {
        dq[(b * params.T + row / group) * qStride + (hk * group + row % group) * params.d + i] = Cs[e] * params.scale;
      }
    }
  }
}
`;
}
