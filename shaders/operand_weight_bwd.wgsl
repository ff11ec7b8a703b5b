// Operand snippet for the generated matrix product (src/gpu/gemm/): dx = dy · W. A = dy [M,K=out] (lda); B(k, n) = W[k, n], W [out=K, in=N]
// read through the weight-format snippet's `weight(row, col)`.
fn loadA(m: u32, k: u32) -> f32 { return A[m * params.lda + k]; }
fn loadB(k: u32, n: u32) -> f32 { return weight(k, n); }
