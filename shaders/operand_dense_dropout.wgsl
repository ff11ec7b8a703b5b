// Operand snippet for the generated matrix product (src/gpu/gemm/): both operands dense f32, one of them read through inverted dropout,
// the mask regenerated from (seed, stream, index) as dropout.wgsl makes it (dropout_mask.wgsl, prepended):
//   DROP_A: loadA(m, k) = x[m, k] · keep / (1 − p), index m·lda + k   (h = dropout(x) · Aᵀ, LoRA forward)
//   DROP_B: loadB(k, n) = x[k, n] · keep / (1 − p), index k·ldb + n   (dA = dhᵀ · dropout(x), LoRA backward)
// so dropout(x) is never written out: the same values, bit for bit, as dropout.wgsl then the plain product.
// Layouts as operand_dense.wgsl; the masked operand is never transposed. Binding 5: dyn u32 [1] = seed.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override DROP_A: bool = false;
override DROP_B: bool = false;
@group(0) @binding(4) var<storage, read> Bm: array<f32>;
@group(0) @binding(5) var<storage, read> dropSeed: array<u32>;
fn dropped(v: f32, i: u32) -> f32 {
  if (dropoutKeep(dropSeed[0], params.dropStream, i, params.dropP)) { return v / (1.0 - params.dropP); }
  return 0.0;
}
fn loadA(m: u32, k: u32) -> f32 {
  if (TRANS_A) { return A[k * params.lda + m]; }
  if (DROP_A) { return dropped(A[m * params.lda + k], m * params.lda + k); }
  return A[m * params.lda + k];
}
fn loadB(k: u32, n: u32) -> f32 {
  if (TRANS_B) { return Bm[n * params.ldb + k]; }
  if (DROP_B) { return dropped(Bm[k * params.ldb + n], k * params.ldb + n); }
  return Bm[k * params.ldb + n];
}
