// Operand snippet for the matmul body: a frozen linear and its LoRA up-projection in one product,
// the K dimension extended by the rank:  y = [x | h] · [W | s·B]ᵀ = x·Wᵀ + s · h·Bᵀ,  K = wCols + RANK.
//   loadA(m, k) = x[m, k] (lda) for k < wCols, else h[m, H_COL + k − wCols] (h [M, H_LD]: the LoRA
//                 activations of this module's group, dropout(x)·Aᵀ, this module's columns from H_COL);
//   loadB(k, n) = W[n, k] through the weight-format snippet's `weight(row, col)`, else LORA_SCALE · B[n, k − wCols].
// Bindings after the weight snippet's (which uses 4..7 at most): 8 h f32, 9 B f32 [N, RANK] (the slot).
// Numerics: one f32 accumulation over both parts (the unfused path rounds x·Wᵀ before adding the LoRA term).
override RANK: u32 = 16u;
override H_LD: u32 = 16u;
override H_COL: u32 = 0u;
override LORA_SCALE: f32 = 1.0;
@group(0) @binding(8) var<storage, read> loraH: array<f32>;
@group(0) @binding(9) var<storage, read> loraB: array<f32>;
fn loadA(m: u32, k: u32) -> f32 {
  if (k < params.wCols) { return A[m * params.lda + k]; }
  return loraH[m * H_LD + H_COL + k - params.wCols];
}
fn loadB(k: u32, n: u32) -> f32 {
  if (k < params.wCols) { return weight(n, k); }
  return LORA_SCALE * loraB[n * RANK + k - params.wCols];
}
