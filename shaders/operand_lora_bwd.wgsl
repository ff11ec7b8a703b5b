// Operand snippet for the matmul body: the input gradient of a frozen linear with LoRA (no dropout) in
// one product, K extended by the rank:  dx = [dy | dh] · [W ; A] = dy·W + dh·A,  K = rows + RANK.
//   loadA(m, k) = dy[m, k] (lda) for k < rows, else dh[m, H_COL + k − rows] (dh [M, H_LD]: s·dy·B of
//                 this module's group, its columns from H_COL);
//   loadB(k, n) = W[k, n] through the weight-format snippet's `weight(row, col)`, else A[k − rows, n].
// rows = K − RANK. Bindings after the weight snippet's (4..7 at most): 8 dh f32, 9 A f32 [RANK, N] (the slot).
override RANK: u32 = 16u;
override H_LD: u32 = 16u;
override H_COL: u32 = 0u;
@group(0) @binding(8) var<storage, read> loraDh: array<f32>;
@group(0) @binding(9) var<storage, read> loraA: array<f32>;
fn loadA(m: u32, k: u32) -> f32 {
  let rows = params.K - RANK;
  if (k < rows) { return A[m * params.lda + k]; }
  return loraDh[m * H_LD + H_COL + k - rows];
}
fn loadB(k: u32, n: u32) -> f32 {
  let rows = params.K - RANK;
  if (k < rows) { return weight(k, n); }
  return loraA[(k - rows) * params.N + n];
}
