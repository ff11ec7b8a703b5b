// Operand snippet for the matmul body: the LoRA down-projections of up to three modules that read the
// same input (q/k/v on xn1, gate/up on xn2) in one product, column blocks side by side:
//   h [M, G·RANK] = x · [A0 ; A1 ; A2]ᵀ,  loadA(m, k) = x[m, k] (lda),  loadB(k, n) = A_g[n − g·RANK, k], g = n / RANK
// with each A_g [RANK, K] a slot of its own. No dropout: each module has its own mask of x.
// Bindings: 4, 5, 6 the A slots (the unused ones bound to any buffer).
override RANK: u32 = 16u;
@group(0) @binding(4) var<storage, read> loraA0: array<f32>;
@group(0) @binding(5) var<storage, read> loraA1: array<f32>;
@group(0) @binding(6) var<storage, read> loraA2: array<f32>;
fn loadA(m: u32, k: u32) -> f32 { return A[m * params.lda + k]; }
fn loadB(k: u32, n: u32) -> f32 {
  let g = n / RANK;
  let i = (n - g * RANK) * params.K + k;
  if (g == 0u) { return loraA0[i]; }
  if (g == 1u) { return loraA1[i]; }
  return loraA2[i];
}
