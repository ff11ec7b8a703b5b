// The scalar back ends' body: a register-tiled product, 16×16 threads, each computing TM×TN outputs
// (TM = tileM / 16, TN = tileN / 16: 4 or 8), K in steps of kStep. A and B tiles sit in workgroup memory
// k-major as vec4 rows (As[k][m], Bs[k][n]) so each thread reads its TM rows and TN columns as vec4s.
// Generated unrolled: every accumulator (a vec4 of four columns), every prefetch register is a named value
// indexed by constants only — a function-scope array indexed by loop counters may be put in local memory
// by the driver. A tile wholly inside M, N and the k range loads without the per-element edge tests
// (loadA/loadB, not loadAZ/loadBZ) and stores without the bounds test; only edge tiles pay for them.
// With `prefetch`, the next k tile's elements are read into registers before the current one multiplies
// (common.ts kWalk). The epilogue copies the accumulators into one array once, so the store has one site.
// Dispatch: (ceil(N / tileN), ceil(M / tileM), split-K slices or 1). Workgroup memory: (tileM + tileN)·kStep elements.
// Numerics: `scalar` — f32 products accumulated in f32 along K in order (the order of the old
// shaders/matmul.wgsl, so the golden tolerances hold); `scalar-f16` — operands rounded to f16 as tiles
// load, products in f16 (four at a time, a vec4<f16> product), accumulated in f32.
// Checked by: test/gemm.test.ts (default tiles), test/gemm-variants.test.ts (the sweep's space),
// test/matmul.test.ts, test/matmul-f16.test.ts, test/golden.test.ts.
import type { GemmVariant } from './config';
import { SCALAR_THREADS, tilingProblem } from './variants';
import { kWalk } from './common';

const THREADS = SCALAR_THREADS * SCALAR_THREADS;

export function scalarBody(v: GemmVariant): string {
  const problem = tilingProblem(v);
  if (problem) throw new Error(`scalar gemm: ${problem}`);
  const T = v.backend === 'scalar-f16' ? 'f16' : 'f32';
  const TM = v.tileM / SCALAR_THREADS;
  const TN = v.tileN / SCALAR_THREADS;
  const [VM, VN] = [TM / 4, TN / 4]; // vec4s per thread per side
  const TK = v.kStep;
  const loadsA = (v.tileM * TK) / THREADS;
  const loadsB = (v.tileN * TK) / THREADS;
  const rowStride = THREADS / TK; // rows between one thread's successive loads
  const range = (n: number) => [...Array(n).keys()];
  const c = 'xyzw';
  const slotA = (r: string) => `As[lk * ${v.tileM / 4}u + (${r}) / 4u][(${r}) % 4u]`;
  const slotB = (r: string) => `Bs[lk * ${v.tileN / 4}u + (${r}) / 4u][(${r}) % 4u]`;
  // Element (row lr + i·rowStride, k0 + lk) of each operand: straight into the tile, or into registers.
  const direct = /* wgsl */ `for (var i = 0u; i < ${Math.max(loadsA, loadsB)}u; i++) {
      let r = lr + i * ${rowStride}u;
      if (full) {
        ${loadsA < loadsB ? `if (i < ${loadsA}u) { ${slotA('r')} = ${T}(loadA(m0 + r, k0 + lk)); }` : `${slotA('r')} = ${T}(loadA(m0 + r, k0 + lk));`}
        ${loadsB < loadsA ? `if (i < ${loadsB}u) { ${slotB('r')} = ${T}(loadB(k0 + lk, n0 + r)); }` : `${slotB('r')} = ${T}(loadB(k0 + lk, n0 + r));`}
      } else {
        ${loadsA < loadsB ? `if (i < ${loadsA}u) { ${slotA('r')} = ${T}(loadAZ(m0 + r, k0 + lk)); }` : `${slotA('r')} = ${T}(loadAZ(m0 + r, k0 + lk));`}
        ${loadsB < loadsA ? `if (i < ${loadsB}u) { ${slotB('r')} = ${T}(loadBZ(k0 + lk, n0 + r)); }` : `${slotB('r')} = ${T}(loadBZ(k0 + lk, n0 + r));`}
      }
    }`;
  const regs = (guarded: boolean) => {
    const [la, lb] = guarded ? ['loadAZ', 'loadBZ'] : ['loadA', 'loadB'];
    return [
      ...range(loadsA).map((i) => `pa${i} = ${T}(${la}(m0 + lr + ${i * rowStride}u, k0 + lk));`),
      ...range(loadsB).map((i) => `pb${i} = ${T}(${lb}(k0 + lk, n0 + lr + ${i * rowStride}u));`),
    ].join(' ');
  };
  const fetch = `if (full) { ${regs(false)} } else { ${regs(true)} }`;
  const stash = [
    ...range(loadsA).map((i) => `${slotA(`lr + ${i * rowStride}u`)} = pa${i};`),
    ...range(loadsB).map((i) => `${slotB(`lr + ${i * rowStride}u`)} = pb${i};`),
  ].join('\n      ');
  const madd = (a: string, b: string) => (T === 'f16' ? `vec4f(${a} * ${b})` : `${a} * ${b}`);
  const inner: string[] = [];
  for (let q = 0; q < VM; q++) inner.push(`      let a${q} = As[kk * ${v.tileM / 4}u + lid.y * ${VM}u + ${q}u];`);
  for (let q = 0; q < VN; q++) inner.push(`      let b${q} = Bs[kk * ${v.tileN / 4}u + lid.x * ${VN}u + ${q}u];`);
  for (let i = 0; i < TM; i++) {
    for (let j = 0; j < VN; j++) inner.push(`      acc${i}_${j} = acc${i}_${j} + ${madd(`a${i >> 2}.${c[i & 3]}`, `b${j}`)};`);
  }
  const multiply = `for (var kk = 0u; kk < TK; kk++) {\n${inner.join('\n')}\n    }`;
  const accs = range(TM).flatMap((i) => range(VN).map((j) => `acc${i}_${j}`));
  const walk = kWalk({ prefetch: v.prefetch, fetch, stash, direct, multiply });
  return /* wgsl */ `
const TK = ${TK}u;
var<workgroup> As: array<vec4<${T}>, ${(TK * v.tileM) / 4}>; // [k][m / 4]
var<workgroup> Bs: array<vec4<${T}>, ${(TK * v.tileN) / 4}>; // [k][n / 4]

@compute @workgroup_size(${SCALAR_THREADS}, ${SCALAR_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * ${v.tileM}u;
  let n0 = wid.x * ${v.tileN}u;
  let kB = kBegin(wid.z);
  let kE = kEnd(wid.z);
  // Workgroup-uniform: the whole tile lies inside M × N (only the k range can still be ragged).
  let fullMN = m0 + ${v.tileM}u <= params.M && n0 + ${v.tileN}u <= params.N;
  // This thread's share of a tile load: k offset lk, rows lr, lr + ${rowStride}, … (k fastest: rows of A and W are contiguous in k).
  let lk = li % TK;
  let lr = li / TK;
  ${accs.map((a) => `var ${a}: vec4f;`).join(' ')}
  ${v.prefetch ? [...range(loadsA).map((i) => `var pa${i}: ${T};`), ...range(loadsB).map((i) => `var pb${i}: ${T};`)].join(' ') : ''}
${walk}
  // The accumulators leave their registers once, into an array the store loop may index (one store site).
  var out = array<vec4f, ${accs.length}>(${accs.join(', ')});
  for (var i = 0u; i < ${TM}u; i++) {
    for (var j = 0u; j < ${VN}u; j++) {
      for (var e = 0u; e < 4u; e++) {
        let m = m0 + lid.y * ${TM}u + i;
        let n = n0 + lid.x * ${TN}u + 4u * j + e;
        if (fullMN) { storeCFull(wid.z, m, n, out[i * ${VN}u + j][e]); } else { storeC(wid.z, m, n, out[i * ${VN}u + j][e]); }
      }
    }
  }
}
`;
}
