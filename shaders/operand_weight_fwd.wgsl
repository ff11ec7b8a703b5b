// Operand snippet for the generated matrix product (src/gpu/gemm/): y = x · Wᵀ. A = x [M,K] (lda); B(k, n) = W[n, k], W [out=N, in=K]
// read through the weight-format snippet's `weight(row, col)`.
fn loadA(m: u32, k: u32) -> f32 { return A[m * params.lda + k]; }
fn loadB(k: u32, n: u32) -> f32 { return weight(n, k); }
