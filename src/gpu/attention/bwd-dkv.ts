// attention_bwd_dkv on tensor cores: the generated twin of shaders/attention_bwd_dkv.wgsl (same params,
// bindings, rows and masks; training only). For key j of KV head hk, over the rows (t, g) that see it:
//   dV[j] = Σ P_tj dO_t,   dK[j] = scale · Σ dS_tj q_t
// A workgroup owns R = 16·SUBGROUPS keys of one (b, hk); K and V stay in As. Per tile of BR query rows:
//   Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ (fresh accumulators, staged to Cs) → every invocation turns pairs of them
//   into Pᵀ and dSᵀ (f16, into As) while Qᵀ and dOᵀ replace Q and dO in Bs → dV += Pᵀ·dO and
//   dK += dSᵀ·Q in accumulators that live across the row tiles. The sum over the group's heads is a sum
//   over rows, so no atomics. The epilogue stages dK and dV fragment column by column.
// Tiles: As K, V [R][D], Pᵀ, dSᵀ [R][BR]; Bs Q, dO [BR][D] (then Qᵀ, dOᵀ [D][BR]); Cs Sᵀ, dPᵀ [R][BR].
// Dispatch: B·Hkv·ceil(T / R) workgroups (2D grid when large) of SUBGROUPS × subgroup size.
// Numerics: q, k, v, dO, P and dS rounded to f16, everything else f32: against the reference on
// f16-rounded inputs, |ΔdV| ≤ 2⁻¹¹ Σ P|dO| and |ΔdK| ≤ 2⁻¹¹ scale Σ |dS||q|.
// Checked by test/attention-mma.test.ts (emulated, against src/ref/attention.ts).
import type { GemmVariant } from '../gemm/config';
import type { SubgroupMatrixPrimitives } from '../gemm/primitives';
import type { AttentionTiles } from './tiles';
import { SUBGROUP_ROWS, fillTile, mmaLoop, storePair } from './tiles';
import { BWD_PRELUDE } from './bwd-common';

export function attentionBwdDkvBody(v: GemmVariant, p: SubgroupMatrixPrimitives, t: AttentionTiles): string {
  const { M: FM, N: FN } = v.frag;
  const SG = t.subgroups;
  const R = SG * SUBGROUP_ROWS;
  const BR = t.inner;
  const D = t.D;
  const THREADS = SG * v.subgroupSize;
  const V0 = R * D; // V's offset in As
  const PT0 = 2 * R * D; // Pᵀ's offset in As
  const DS0 = PT0 + R * BR; // dSᵀ's
  const DO0 = BR * D; // dO's offset in Bs
  const DP0 = R * BR; // dPᵀ's offset in Cs
  const MF = SUBGROUP_ROWS / FM;
  const NF = D / FN;
  return /* wgsl */ `
${BWD_PRELUDE}
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

const SUBGROUPS = ${SG}u;
const THREADS = ${THREADS}u;
const R = ${R}u;
const BR = ${BR}u;
${p.decls(R * (2 * D + 2 * BR), 2 * BR * D, Math.max(2 * R * BR, R * FN))}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32${p.entryArgs ? ', ' + p.entryArgs : ''}) {
  ${p.prologue}
  let T = params.T;
  let group = params.H / params.Hkv;
  let nTiles = (T + R - 1u) / R;
  let idx = wid.x + wid.y * nwg.x; // (b, hk, key tile), key tile fastest
  if (idx >= params.B * params.Hkv * nTiles) { return; }
  let tile = idx % nTiles;
  let hk = (idx / nTiles) % params.Hkv;
  let b = idx / (nTiles * params.Hkv);
  let j0 = tile * R;
  var tEnd = T; // queries j0 ..< tEnd see some key of the tile
  if (params.window > 0u) { tEnd = min(T, min(j0 + R, T) - 1u + params.window); }
  let rBegin = j0 * group;
  let rEnd = tEnd * group;
  setBlock(b, hk, group, rEnd, T);

  ${fillTile(p, 'As', 0, R, D, (r, c) => `keyVal(true, j0 + ${r}, ${c})`)}
  ${fillTile(p, 'As', V0, R, D, (r, c) => `keyVal(false, j0 + ${r}, ${c})`)}
  var accK: array<array<${p.accType}, ${NF}>, ${MF}>; // dK / scale of the subgroup's keys
  var accV: array<array<${p.accType}, ${NF}>, ${MF}>;
  for (var r0 = rBegin; r0 < rEnd; r0 += BR) {
    workgroupBarrier(); // the previous tile's readers of Bs, Pᵀ and dSᵀ are done
    ${fillTile(p, 'Bs', 0, BR, D, (r, c) => `rowVal(true, r0 + ${r}, ${c})`)}
    ${fillTile(p, 'Bs', DO0, BR, D, (r, c) => `rowVal(false, r0 + ${r}, ${c})`)}
    workgroupBarrier();
    if (sg < SUBGROUPS) {
      for (var m = 0u; m < ${MF}u; m++) {
        let kr = sg * ${SUBGROUP_ROWS}u + m * ${FM}u;
        for (var n = 0u; n < ${BR / FN}u; n++) {
          var s = ${p.accType}();
          ${mmaLoop(p, v.frag, 's', `kr * ${D}u`, D, `n * ${FN * D}u`, D, D)}
          ${p.store(`kr * BR + n * ${FN}u`, 's', 'BR')}
          var dp = ${p.accType}();
          ${mmaLoop(p, v.frag, 'dp', `${V0}u + kr * ${D}u`, D, `${DO0}u + n * ${FN * D}u`, D, D)}
          ${p.store(`${DP0}u + kr * BR + n * ${FN}u`, 'dp', 'BR')}
        }
      }
    }
    workgroupBarrier(); // Sᵀ and dPᵀ staged; Q and dO no longer read
    for (var e = li; e < R * BR / 2u; e += THREADS) {
      let kr = e / (BR / 2u);
      let rr = 2u * (e % (BR / 2u));
      let j = j0 + kr;
      var pp = vec2f(0.0);
      var ds = vec2f(0.0);
      for (var x = 0u; x < 2u; x++) {
        let row = r0 + rr + x;
        let t = row / group;
        if (j < T && row < rEnd && t >= j && (params.window == 0u || t - j < params.window)) {
          let at = rowStat(row);
          let sc = softcapScore(Cs[kr * BR + rr + x] * params.scale, params.softcap); // (score, d score / d raw)
          pp[x] = exp(sc.x - lse[at]);
          ds[x] = pp[x] * (Cs[${DP0}u + kr * BR + rr + x] - Dsum[at]) * sc.y;
        }
      }
      ${storePair(p, 'As', `${PT0 / 2}u + e`, 'pp.x', 'pp.y')}
      ${storePair(p, 'As', `${DS0 / 2}u + e`, 'ds.x', 'ds.y')}
    }
    ${fillTile(p, 'Bs', 0, D, BR, (r, c) => `rowVal(true, r0 + ${c}, ${r})`)}
    ${fillTile(p, 'Bs', DO0, D, BR, (r, c) => `rowVal(false, r0 + ${c}, ${r})`)}
    workgroupBarrier(); // Pᵀ, dSᵀ, Qᵀ and dOᵀ published
    if (sg < SUBGROUPS) {
      for (var m = 0u; m < ${MF}u; m++) {
        let kr = sg * ${SUBGROUP_ROWS}u + m * ${FM}u;
        for (var n = 0u; n < ${NF}u; n++) {
          ${mmaLoop(p, v.frag, 'accV[m][n]', `${PT0}u + kr * BR`, BR, `${DO0}u + n * ${FN}u * BR`, BR, BR)}
          ${mmaLoop(p, v.frag, 'accK[m][n]', `${DS0}u + kr * BR`, BR, `n * ${FN}u * BR`, BR, BR)}
        }
      }
    }
  }
  let kvStride = params.Hkv * params.d;
  let kvBase = b * T * kvStride + hk * params.d;
  for (var n = 0u; n < ${NF}u; n++) {
    for (var which = 0u; which < 2u; which++) {
      workgroupBarrier(); // Cs's previous readers are done
      if (sg < SUBGROUPS) {
        for (var m = 0u; m < ${MF}u; m++) {
          if (which == 0u) {
            ${p.store(`(sg * ${SUBGROUP_ROWS}u + m * ${FM}u) * ${FN}u`, 'accK[m][n]', `${FN}u`)}
          } else {
            ${p.store(`(sg * ${SUBGROUP_ROWS}u + m * ${FM}u) * ${FN}u`, 'accV[m][n]', `${FN}u`)}
          }
        }
      }
      workgroupBarrier();
      for (var e = li; e < R * ${FN}u; e += THREADS) {
        let j = j0 + e / ${FN}u;
        let i = n * ${FN}u + e % ${FN}u;
        if (j < T && i < params.d) {
          if (which == 0u) { dk[kvBase + j * kvStride + i] = Cs[e] * params.scale; } else { dv[kvBase + j * kvStride + i] = Cs[e]; }
        }
      }
    }
  }
}
`;
}
