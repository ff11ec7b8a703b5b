// The subgroup-matrix back ends' body: one tile walk for the tensor-core back end and its emulation,
// which differ only in primitives.ts. A workgroup of 2×2 subgroups computes a tile×tile block of C;
// each subgroup owns a (tile/2)² quarter as FRAGS_M × FRAGS_N fragments of FM×FN (NVIDIA f16, tile 128:
// 4 × 4 accumulators of 16×16, as ONNX Runtime's subgroup_matrix_matmul_nbits and llama.cpp's
// mul_mat_subgroup_matrix lay it out), K in steps of 32.
//   As [tile][32] f16, row-major (m, k): the left fragment at rows r0 is As[r0·32 + kk …], stride 32;
//   Bs [tile][32] f16, n-major (n, k): the right fragment (k × n) column-major, stride 32.
// Tiles load as pairs along k (zero outside M, N, K), every invocation of the workgroup helping.
// Epilogue: each fragment goes through a per-subgroup f32 staging block Cs (FM×FN per subgroup), from
// which all invocations apply alpha/bias/beta and store guarded — so the lane layout of the hardware
// result never matters and ragged edges are handled once.
// Dispatch: (ceil(N / tile), ceil(M / tile), split-K slices or 1); workgroup 4 × subgroupSize invocations (the adapter's
// subgroupMaxSize on hardware: Dawn wants the x size a multiple of it; smaller real subgroups leave the
// extra ones idle by the `sg < SUBGROUPS` guard).
// Numerics: operands rounded to f16 in the tiles, products accumulated in f32 (hardware: in the order
// the tensor core chooses; emulated: along K in order).
// Checked by: test/gemm.test.ts.
import type { GemmVariant } from './config';
import { SPLIT_K_ALIGN } from './config';
import type { SubgroupMatrixPrimitives } from './primitives';

const SG_ROWS = 2;
const SG_COLS = 2;
const TK = 32;
if (SPLIT_K_ALIGN % TK !== 0) throw new Error('subgroup-matrix gemm: split-K slices must be whole k steps');

export function subgroupMatrixBody(v: GemmVariant, p: SubgroupMatrixPrimitives): string {
  const { M: FM, N: FN, K: FK } = v.frag;
  const half = v.tile / 2;
  const FRAGS_M = half / FM;
  const FRAGS_N = half / FN;
  if (!Number.isInteger(FRAGS_M) || !Number.isInteger(FRAGS_N) || TK % FK !== 0) {
    throw new Error(`subgroup-matrix gemm: a ${v.tile} tile does not split into ${FM}x${FN}x${FK} fragments`);
  }
  const SUBGROUPS = SG_ROWS * SG_COLS;
  const THREADS = SUBGROUPS * v.subgroupSize;
  const FRAG = FM * FN;
  const pairs = (v.tile * TK) / 2;
  return /* wgsl */ `
const TILE = ${v.tile}u;
const TK = ${TK}u;
const SUBGROUPS = ${SUBGROUPS}u;
const THREADS = ${THREADS}u;
${p.decls(v.tile * TK, v.tile * TK, SUBGROUPS * FRAG)}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32${p.entryArgs ? ', ' + p.entryArgs : ''}) {
  ${p.prologue}
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let sgRow = sg / ${SG_COLS}u;
  let sgCol = sg % ${SG_COLS}u;
  var acc: array<array<${p.accType}, ${FRAGS_N}>, ${FRAGS_M}>;
  for (var k0 = kBegin(wid.z); k0 < kEnd(wid.z); k0 += TK) {
    for (var q = li; q < ${pairs}u; q += THREADS) {
      let kp = q % ${TK / 2}u;
      let r = q / ${TK / 2}u;
      let k = k0 + 2u * kp;
      ${p.storePair('As', 'q', 'loadAZ(m0 + r, k)', 'loadAZ(m0 + r, k + 1u)')}
      ${p.storePair('Bs', 'q', 'loadBZ(k, n0 + r)', 'loadBZ(k + 1u, n0 + r)')}
    }
    workgroupBarrier();
    if (sg < SUBGROUPS) {
      for (var kk = 0u; kk < TK; kk += ${FK}u) {
        var left: array<${p.leftType}, ${FRAGS_M}>;
        for (var i = 0u; i < ${FRAGS_M}u; i++) {
          left[i] = ${p.loadLeft(`(sgRow * ${FRAGS_M}u + i) * ${FM}u * TK + kk`, 'TK')};
        }
        for (var j = 0u; j < ${FRAGS_N}u; j++) {
          let right = ${p.loadRight(`(sgCol * ${FRAGS_N}u + j) * ${FN}u * TK + kk`, 'TK')};
          for (var i = 0u; i < ${FRAGS_M}u; i++) {
            acc[i][j] = ${p.mma('left[i]', 'right', 'acc[i][j]')};
          }
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${FRAGS_M}u; i++) {
    for (var j = 0u; j < ${FRAGS_N}u; j++) {
      if (sg < SUBGROUPS) {
        ${p.store(`sg * ${FRAG}u`, 'acc[i][j]', `${FN}u`)}
      }
      workgroupBarrier();
      for (var t = li; t < SUBGROUPS * ${FRAG}u; t += THREADS) {
        let s = t / ${FRAG}u;
        let e = t % ${FRAG}u;
        let m = m0 + ((s / ${SG_COLS}u) * ${FRAGS_M}u + i) * ${FM}u + e / ${FN}u;
        let n = n0 + ((s % ${SG_COLS}u) * ${FRAGS_N}u + j) * ${FN}u + e % ${FN}u;
        storeC(wid.z, m, n, Cs[t]);
      }
      workgroupBarrier();
    }
  }
}
`;
}
