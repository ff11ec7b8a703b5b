// The scalar back ends' body: a register-tiled product, 16×16 threads, each computing TM×TN outputs
// (64 tile: 4×4; 128 tile: 8×8), K in steps of 16. A and B tiles sit in workgroup memory k-major as
// vec4 rows (As[k][m], Bs[k][n]) so each thread reads its TM rows and TN columns as TM/4 + TN/4 vec4s.
// Dispatch: (ceil(N / tile), ceil(M / tile), split-K slices or 1). Workgroup memory: 2·16·tile elements (16 KiB at 128, f32).
// Numerics: `scalar` — f32 products accumulated in f32 along K in order (the order of the old
// shaders/matmul.wgsl, so the golden tolerances hold); `scalar-f16` — operands rounded to f16 as tiles
// load, products in f16, accumulated in f32 (the old shaders/matmul_f16.wgsl).
// Checked by: test/gemm.test.ts (both tiles), test/matmul.test.ts, test/matmul-f16.test.ts, test/golden.test.ts.
import type { GemmVariant } from './config';
import { SPLIT_K_ALIGN } from './config';

const THREADS = 16; // per side: 256 invocations
const TK = 16;
if (SPLIT_K_ALIGN % TK !== 0) throw new Error('scalar gemm: split-K slices must be whole k steps');

export function scalarBody(v: GemmVariant): string {
  const T = v.backend === 'scalar-f16' ? 'f16' : 'f32';
  const B = v.tile;
  const TM = B / THREADS; // outputs per thread per side: 4 or 8
  const V = TM / 4; // vec4s per thread per side
  const loads = (B * TK) / (THREADS * THREADS);
  const prod = (a: string, b: string) => (T === 'f16' ? `f32(${a} * ${b})` : `${a} * ${b}`);
  const lines: string[] = [];
  for (let v4 = 0; v4 < V; v4++) {
    lines.push(`      let a${v4} = As[kk * ${B / 4}u + lid.y * ${V}u + ${v4}u];`);
    lines.push(`      let b${v4} = Bs[kk * ${B / 4}u + lid.x * ${V}u + ${v4}u];`);
  }
  const c = 'xyzw';
  for (let i = 0; i < TM; i++) {
    for (let j = 0; j < TM; j++) {
      const a = `a${i >> 2}.${c[i & 3]}`;
      const b = `b${j >> 2}.${c[j & 3]}`;
      lines.push(`      acc[${i}][${j}] = acc[${i}][${j}] + ${prod(a, b)};`);
    }
  }
  return /* wgsl */ `
const TILE = ${B}u;
const TK = ${TK}u;
var<workgroup> As: array<vec4<${T}>, ${(TK * B) / 4}>; // [k][m / 4]
var<workgroup> Bs: array<vec4<${T}>, ${(TK * B) / 4}>; // [k][n / 4]

@compute @workgroup_size(${THREADS}, ${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  var acc: array<array<f32, ${TM}>, ${TM}>;
  for (var k0 = kBegin(wid.z); k0 < kEnd(wid.z); k0 += TK) {
    // TILE×TK tiles, k fastest in the reads (rows of A and of W are contiguous in k).
    for (var i = 0u; i < ${loads}u; i++) {
      let e = li + i * ${THREADS * THREADS}u;
      let kk = e % TK;
      let rr = e / TK;
      As[kk * ${B / 4}u + rr / 4u][rr % 4u] = ${T}(loadAZ(m0 + rr, k0 + kk));
      Bs[kk * ${B / 4}u + rr / 4u][rr % 4u] = ${T}(loadBZ(k0 + kk, n0 + rr));
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
${lines.join('\n')}
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${TM}u; i++) {
    for (var j = 0u; j < ${TM}u; j++) {
      storeC(wid.z, m0 + lid.y * ${TM}u + i, n0 + lid.x * ${TM}u + j, acc[i][j]);
    }
  }
}
`;
}
