// Operand snippet for the generated matrix product (src/gpu/gemm/): both operands dense f32 buffers.
// A is [M,K] row-major (lda) or, with TRANS_A, stored [K,M]; B is [K,N] (ldb) or, with TRANS_B, stored [N,K].
override TRANS_A: bool = false;
override TRANS_B: bool = false;
@group(0) @binding(4) var<storage, read> Bm: array<f32>;
fn loadA(m: u32, k: u32) -> f32 {
  if (TRANS_A) { return A[k * params.lda + m]; }
  return A[m * params.lda + k];
}
fn loadB(k: u32, n: u32) -> f32 {
  if (TRANS_B) { return Bm[n * params.ldb + k]; }
  return Bm[k * params.ldb + n];
}
