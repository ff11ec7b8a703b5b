// The subgroup-matrix back ends' body: one tile walk for the tensor-core back end and its emulation,
// which differ only in primitives.ts. A workgroup of sgM × sgN subgroups computes a tileM × tileN block of
// C; each subgroup owns FRAGS_M × FRAGS_N fragments of FM×FN (NVIDIA f16, 128 tile, 2 × 2 subgroups:
// 4 × 4 accumulators of 16×16, as ONNX Runtime's subgroup_matrix_matmul_nbits and llama.cpp's
// mul_mat_subgroup_matrix lay it out), K in steps of kStep.
//   As [tileM][kStep + pad] f16, row-major (m, k): the left fragment at rows r0 is As[r0·LDS + kk …], stride LDS;
//   Bs [tileN][kStep + pad] f16, n-major (n, k): the right fragment (k × n) column-major, stride LDS.
//   The skew `pad` moves successive rows to other banks (NVIDIA's vk_cooperative_matrix_perf pads its rows).
// Generated unrolled on hardware: every accumulator, left fragment and prefetch register is a named value
// indexed by constants (a function-scope array indexed by loop counters may be put in local memory by the
// driver); the emulation runs the same products at the same offsets as loops (primitives.ts `unrolled`).
// Tiles load as pairs along k, every invocation of the workgroup helping; a tile wholly inside M, N and the
// k range loads without the per-element edge tests. With `prefetch` the next k tile is read into registers
// before the current one multiplies (llama.cpp's mul_mm, ONNX Runtime's NVIDIA template).
// Epilogue: a tile wholly inside C with nothing to apply (alpha 1, no bias, beta 0) stores its fragments
// straight into C; otherwise each fragment goes through a per-subgroup f32 staging block Cs, from which
// all invocations apply alpha/bias/beta and store guarded — the lane layout of the hardware result never
// matters and ragged edges are handled once.
// Dispatch: (ceil(N / tileN), ceil(M / tileM), split-K slices or 1); workgroup sgM·sgN × subgroupSize
// invocations (the adapter's subgroupMaxSize on hardware: Dawn wants the x size a multiple of it; smaller
// real subgroups leave the extra ones idle by the `sg < SUBGROUPS` guard).
// Numerics: operands rounded to f16 in the tiles, products accumulated in f32 (hardware: in the order
// the tensor core chooses; emulated: along K in order).
// Checked by: test/gemm.test.ts (default tiles), test/gemm-variants.test.ts (the sweep's space, emulated).
import type { GemmVariant } from './config';
import type { SubgroupMatrixPrimitives } from './primitives';
import { tilingProblem, workgroupThreads } from './variants';
import { kWalk } from './common';

export function subgroupMatrixBody(v: GemmVariant, p: SubgroupMatrixPrimitives): string {
  const problem = tilingProblem(v);
  if (problem) throw new Error(`subgroup-matrix gemm: ${problem}`);
  const { M: FM, N: FN, K: FK } = v.frag;
  const FRAGS_M = v.tileM / (v.sgM * FM);
  const FRAGS_N = v.tileN / (v.sgN * FN);
  const SUBGROUPS = v.sgM * v.sgN;
  const THREADS = workgroupThreads(v);
  const FRAG = FM * FN;
  const TK = v.kStep;
  const LDS = TK + v.pad; // f16 elements per workgroup row
  const halfK = TK / 2;
  const rowStride = THREADS / halfK; // rows between one thread's successive pair loads
  const loadsA = (v.tileM * halfK) / THREADS;
  const loadsB = (v.tileN * halfK) / THREADS;
  const range = (n: number) => [...Array(n).keys()];
  // The k pair (lk, lk + 1) of rows lr + i·rowStride: into registers (prefetch) or straight into the tile.
  const pairA = (la: string, r: string, k: string) => `vec2f(${la}(m0 + ${r}, ${k} + lk), ${la}(m0 + ${r}, ${k} + lk + 1u))`;
  const pairB = (lb: string, r: string, k: string) => `vec2f(${lb}(${k} + lk, n0 + ${r}), ${lb}(${k} + lk + 1u, n0 + ${r}))`;
  const slot = (r: string) => `((${r}) * ${LDS / 2}u + lk / 2u)`; // pair index of (row, k pair) in a padded tile
  const regs = (guarded: boolean) => {
    const [la, lb] = guarded ? ['loadAZ', 'loadBZ'] : ['loadA', 'loadB'];
    return [
      ...range(loadsA).map((i) => `pa${i} = ${pairA(la, `lr + ${i * rowStride}u`, 'k0')};`),
      ...range(loadsB).map((i) => `pb${i} = ${pairB(lb, `lr + ${i * rowStride}u`, 'k0')};`),
    ].join(' ');
  };
  // The emulation keeps the prefetch registers in arrays, read and written in loops (as its multiply):
  // unrolled, SwiftShader did not build the emulated prefetch walk in minutes.
  const regLoop = (guarded: boolean) => {
    const [la, lb] = guarded ? ['loadAZ', 'loadBZ'] : ['loadA', 'loadB'];
    return `for (var i = 0u; i < ${loadsA}u; i++) { pa[i] = ${pairA(la, `lr + i * ${rowStride}u`, 'k0')}; } ` +
      `for (var i = 0u; i < ${loadsB}u; i++) { pb[i] = ${pairB(lb, `lr + i * ${rowStride}u`, 'k0')}; }`;
  };
  const fetch = p.unrolled ? `if (full) { ${regs(false)} } else { ${regs(true)} }` : `if (full) { ${regLoop(false)} } else { ${regLoop(true)} }`;
  const stashNamed = [
    ...range(loadsA).map((i) => p.storePair('As', slot(`lr + ${i * rowStride}u`), `pa${i}.x`, `pa${i}.y`)),
    ...range(loadsB).map((i) => p.storePair('Bs', slot(`lr + ${i * rowStride}u`), `pb${i}.x`, `pb${i}.y`)),
  ].join('\n      ');
  const stashLoop = `for (var i = 0u; i < ${loadsA}u; i++) { ${p.storePair('As', slot(`lr + i * ${rowStride}u`), 'pa[i].x', 'pa[i].y')} } ` +
    `for (var i = 0u; i < ${loadsB}u; i++) { ${p.storePair('Bs', slot(`lr + i * ${rowStride}u`), 'pb[i].x', 'pb[i].y')} }`;
  const stash = p.unrolled ? stashNamed : stashLoop;
  const directOne = (tile: 'As' | 'Bs', loads: number, guarded: boolean) => {
    const v2 = tile === 'As' ? pairA(guarded ? 'loadAZ' : 'loadA', 'r', 'k0') : pairB(guarded ? 'loadBZ' : 'loadB', 'r', 'k0');
    const body = `{ let r = lr + i * ${rowStride}u; let v = ${v2}; ${p.storePair(tile, slot('r'), 'v.x', 'v.y')} }`;
    return `for (var i = 0u; i < ${loads}u; i++) ${body}`;
  };
  const direct = `if (full) {
      ${directOne('As', loadsA, false)}
      ${directOne('Bs', loadsB, false)}
    } else {
      ${directOne('As', loadsA, true)}
      ${directOne('Bs', loadsB, true)}
    }`;
  const pairs = range(FRAGS_M).flatMap((i) => range(FRAGS_N).map((j) => [i, j] as const));
  const accs = pairs.map(([i, j]) => `acc${i}_${j}`);
  // Hardware: the multiply unrolled over named fragments and accumulators. Emulated: the same products
  // and offsets as loops over arrays (SwiftShader inlines every emuMma call site: unrolled, a 128 tile's
  // shader took minutes to build); the accumulator array is then `out` itself.
  let declare: string;
  let multiply: string;
  let collect: string;
  if (p.unrolled) {
    const mma: string[] = [];
    for (let kk = 0; kk < TK; kk += FK) {
      for (let i = 0; i < FRAGS_M; i++) mma.push(`left${i} = ${p.loadLeft(`aBase + ${i * FM * LDS + kk}u`, `${LDS}u`)};`);
      for (let j = 0; j < FRAGS_N; j++) {
        mma.push(`right = ${p.loadRight(`bBase + ${j * FN * LDS + kk}u`, `${LDS}u`)};`);
        for (let i = 0; i < FRAGS_M; i++) mma.push(`acc${i}_${j} = ${p.mma(`left${i}`, 'right', `acc${i}_${j}`)};`);
      }
    }
    declare = `${accs.map((a) => `var ${a}: ${p.accType};`).join(' ')}
  ${range(FRAGS_M).map((i) => `var left${i}: ${p.leftType};`).join(' ')} var right: ${p.rightType};`;
    multiply = `if (sg < SUBGROUPS) {\n      ${mma.join('\n      ')}\n    }`;
    collect = `// The accumulators leave their registers once, into an array the store loops may index (one store site each).
  var out: array<${p.accType}, ${accs.length}>;
  ${accs.map((a, f) => `out[${f}] = ${a};`).join(' ')}`;
  } else {
    declare = `var out: array<${p.accType}, ${accs.length}>; var left: array<${p.leftType}, ${FRAGS_M}>; var right: ${p.rightType};`;
    multiply = `if (sg < SUBGROUPS) {
      for (var kk = 0u; kk < TK; kk += ${FK}u) {
        for (var i = 0u; i < ${FRAGS_M}u; i++) { left[i] = ${p.loadLeft(`aBase + i * ${FM * LDS}u + kk`, `${LDS}u`)}; }
        for (var j = 0u; j < ${FRAGS_N}u; j++) {
          right = ${p.loadRight(`bBase + j * ${FN * LDS}u + kk`, `${LDS}u`)};
          for (var i = 0u; i < ${FRAGS_M}u; i++) { out[i * ${FRAGS_N}u + j] = ${p.mma('left[i]', 'right', `out[i * ${FRAGS_N}u + j]`)}; }
        }
      }
    }`;
    collect = '';
  }
  const walk = kWalk({ prefetch: v.prefetch, fetch, stash, direct, multiply });
  return /* wgsl */ `
const TK = ${TK}u;
const SUBGROUPS = ${SUBGROUPS}u;
const THREADS = ${THREADS}u;
${p.decls(v.tileM * LDS, v.tileN * LDS, SUBGROUPS * FRAG)}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32${p.entryArgs ? ', ' + p.entryArgs : ''}) {
  ${p.prologue}
  let m0 = wid.y * ${v.tileM}u;
  let n0 = wid.x * ${v.tileN}u;
  let kB = kBegin(wid.z);
  let kE = kEnd(wid.z);
  // Workgroup-uniform: the whole tile lies inside M × N (only the k range can still be ragged).
  let fullMN = m0 + ${v.tileM}u <= params.M && n0 + ${v.tileN}u <= params.N;
  let sgRow = sg / ${v.sgN}u;
  let sgCol = sg % ${v.sgN}u;
  let aBase = sgRow * ${FRAGS_M * FM * LDS}u;
  let bBase = sgCol * ${FRAGS_N * FN * LDS}u;
  // This thread's share of a tile load: the k pair lk, lk + 1 of rows lr, lr + ${rowStride}, …
  let lk = 2u * (li % ${halfK}u);
  let lr = li / ${halfK}u;
  ${declare}
  ${!v.prefetch ? '' : p.unrolled ? [...range(loadsA).map((i) => `var pa${i}: vec2f;`), ...range(loadsB).map((i) => `var pb${i}: vec2f;`)].join(' ') : `var pa: array<vec2f, ${loadsA}>; var pb: array<vec2f, ${loadsB}>;`}
${walk}
  ${collect}
  if (fullMN && plainEpilogue()) {
    if (sg < SUBGROUPS) {
      let cBase = wid.z * params.sliceStride + (m0 + sgRow * ${FRAGS_M * FM}u) * params.ldc + n0 + sgCol * ${FRAGS_N * FN}u;
      for (var f = 0u; f < ${accs.length}u; f++) {
        ${p.storeGlobal(`cBase + (f / ${FRAGS_N}u) * ${FM}u * params.ldc + (f % ${FRAGS_N}u) * ${FN}u`, 'out[f]', 'params.ldc')}
      }
    }
  } else {
    for (var f = 0u; f < ${accs.length}u; f++) {
      if (sg < SUBGROUPS) {
        ${p.store(`sg * ${FRAG}u`, 'out[f]', `${FN}u`)}
      }
      workgroupBarrier();
      for (var t = li; t < SUBGROUPS * ${FRAG}u; t += THREADS) {
        let s = t / ${FRAG}u;
        let e = t % ${FRAG}u;
        let m = m0 + ((s / ${v.sgN}u) * ${FRAGS_M}u + f / ${FRAGS_N}u) * ${FM}u + e / ${FN}u;
        let n = n0 + ((s % ${v.sgN}u) * ${FRAGS_N}u + f % ${FRAGS_N}u) * ${FN}u + e % ${FN}u;
        storeC(wid.z, m, n, Cs[t]);
      }
      workgroupBarrier();
    }
  }
}
`;
}
