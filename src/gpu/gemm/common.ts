// The part of every generated matrix product that does not depend on the back end: the uniform block,
// bindings 0..3 and the epilogue. The operand snippets (shaders/operand_*.wgsl) read `params` and `A`.
//   C[M,N] = alpha · A·B (+ bias[N]) (+ beta · C), alpha/bias/beta applied once, in f32, per element.
// Split-K (ops/matmul.ts): workgroup_id.z = z sums K range [z·kSlice, min(K, (z+1)·kSlice)) — kSlice a
// multiple of every back end's k step (SPLIT_K_ALIGN), so only the last slice has a ragged k tile — and
// stores alpha·partial at C[z·sliceStride + m·ldc + n] (C is then the partial buffer [S, M, N]; the host
// sets hasBias = 0, beta = 0; shaders/gemm_splitk_reduce.wgsl adds them once). Unsplit: kSlice = K,
// z = 0, the same walk and epilogue as before.
// Bindings: 0 params (uniform), 1 A f32 (see loadA), 2 C f32 [M, ldc] (read when beta != 0),
//           3 bias f32 [N] (read when hasBias != 0), 4.. operand B (snippet).
// Checked by: test/gemm.test.ts, test/matmul.test.ts (bias, beta, alpha cases), test/gemm-split-k.test.ts.

export const GEMM_PRELUDE = /* wgsl */ `
struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  alpha: f32, beta: f32, hasBias: u32,
  wCols: u32, qBlock: u32, qNestedBlock: u32, qOffset: f32,
  dropP: f32, dropStream: u32, // operand_dense_dropout.wgsl's mask; unused by the other operands
  kSlice: u32, sliceStride: u32, // split-K: K per slice, elements between slices' partials (0 unsplit)
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;

// Out-of-range loads are zero (so ragged tiles add nothing); out-of-range stores are dropped.
fn loadAZ(m: u32, k: u32) -> f32 {
  if (m < params.M && k < params.K) { return loadA(m, k); }
  return 0.0;
}
fn loadBZ(k: u32, n: u32) -> f32 {
  if (n < params.N && k < params.K) { return loadB(k, n); }
  return 0.0;
}
// The K range slice z of a split product sums (all of K unsplit).
fn kBegin(z: u32) -> u32 { return z * params.kSlice; }
fn kEnd(z: u32) -> u32 { return min(params.K, kBegin(z) + params.kSlice); }
fn storeC(z: u32, m: u32, n: u32, acc: f32) {
  if (m >= params.M || n >= params.N) { return; }
  storeCFull(z, m, n, acc);
}
// The epilogue of an element known to lie inside C (a whole interior tile: no bounds test).
fn storeCFull(z: u32, m: u32, n: u32, acc: f32) {
  var r = params.alpha * acc;
  if (params.hasBias != 0u) { r = r + bias[n]; }
  let idx = z * params.sliceStride + m * params.ldc + n;
  if (params.beta != 0.0) { r = r + params.beta * C[idx]; }
  C[idx] = r;
}
// Whether a tile's fragments may be stored straight into C: no epilogue arithmetic to apply.
fn plainEpilogue() -> bool { return params.alpha == 1.0 && params.beta == 0.0 && params.hasBias == 0u; }
`;

/**
 * The k walk both bodies share. Without prefetch each k tile is read straight into workgroup memory
 * (`direct`, a loop). With prefetch, registers: the first tile is read before the loop; each iteration
 * stashes the registers into workgroup memory, reads the next tile into them, then multiplies.
 * `full` (workgroup-uniform) says the tile being read lies wholly inside M, N and the k range: its reads
 * skip the per-element edge tests.
 */
export function kWalk(o: { prefetch: boolean; fetch: string; stash: string; direct: string; multiply: string }): string {
  if (!o.prefetch) {
    return /* wgsl */ `
  for (var k0 = kB; k0 < kE; k0 += TK) {
    let full = fullMN && k0 + TK <= kE;
    ${o.direct}
    workgroupBarrier();
    ${o.multiply}
    workgroupBarrier();
  }`;
  }
  // The first tile is read before the loop (the k0 = kB read of the loop's fetch), the next one inside.
  return /* wgsl */ `
  {
    let k0 = kB;
    let full = fullMN && k0 + TK <= kE;
    ${o.fetch}
  }
  for (var k0 = kB; k0 < kE; k0 += TK) {
    ${o.stash}
    workgroupBarrier();
    if (k0 + TK < kE) {
      let kNext = k0 + TK;
      let full = fullMN && kNext + TK <= kE;
      ${o.fetch.replaceAll('k0', 'kNext')}
    }
    ${o.multiply}
    workgroupBarrier();
  }`;
}
