// The part of every generated matrix product that does not depend on the back end: the uniform block,
// bindings 0..3 and the epilogue. The operand snippets (shaders/operand_*.wgsl) read `params` and `A`.
//   C[M,N] = alpha · A·B (+ bias[N]) (+ beta · C), alpha/bias/beta applied once, in f32, per element.
// Bindings: 0 params (uniform), 1 A f32 (see loadA), 2 C f32 [M, ldc] (read when beta != 0),
//           3 bias f32 [N] (read when hasBias != 0), 4.. operand B (snippet).
// Checked by: test/gemm.test.ts, test/matmul.test.ts (bias, beta, alpha cases).

export const GEMM_PRELUDE = /* wgsl */ `
struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  alpha: f32, beta: f32, hasBias: u32,
  wCols: u32, qBlock: u32, qNestedBlock: u32, qOffset: f32,
  dropP: f32, dropStream: u32, // operand_dense_dropout.wgsl's mask; unused by the other operands
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
fn storeC(m: u32, n: u32, acc: f32) {
  if (m >= params.M || n >= params.N) { return; }
  var r = params.alpha * acc;
  if (params.hasBias != 0u) { r = r + bias[n]; }
  let idx = m * params.ldc + n;
  if (params.beta != 0.0) { r = r + params.beta * C[idx]; }
  C[idx] = r;
}
`;
