// Operand snippet for the matmul body: dh of up to three LoRA modules with the same input in one product,
// block-diagonal in K (each module's output gradient times its own B; alpha = the LoRA scale):
//   dh [M, G·RANK] = [dy0 | dy1 | dy2] · diag(B0, B1, B2),  K = OUT0 + OUT1 + OUT2
//   loadA(m, k) = dy_g[m, k − koff_g] (dy_g [M, OUT_g] dense),  loadB(k, n) = B_g[k − koff_g, n − g·RANK]
//   where k lies in block g, and 0 where n is outside block g (the other modules' columns).
// Bindings: 1 dy0 (the body's A), 4, 5, 6 the B slots [OUT_g, RANK], 7 dy1, 8 dy2 (unused ones: any buffer).
override RANK: u32 = 16u;
override OUT0: u32 = 0u;
override OUT1: u32 = 0u;
@group(0) @binding(4) var<storage, read> loraB0: array<f32>;
@group(0) @binding(5) var<storage, read> loraB1: array<f32>;
@group(0) @binding(6) var<storage, read> loraB2: array<f32>;
@group(0) @binding(7) var<storage, read> dy1: array<f32>;
@group(0) @binding(8) var<storage, read> dy2: array<f32>;
fn loadA(m: u32, k: u32) -> f32 {
  if (k < OUT0) { return A[m * OUT0 + k]; }
  if (k < OUT0 + OUT1) { return dy1[m * OUT1 + k - OUT0]; }
  let out2 = params.K - OUT0 - OUT1;
  return dy2[m * out2 + k - OUT0 - OUT1];
}
fn loadB(k: u32, n: u32) -> f32 {
  let g = n / RANK;
  let j = n - g * RANK;
  if (k < OUT0) { return select(0.0, loraB0[k * RANK + j], g == 0u); }
  if (k < OUT0 + OUT1) { return select(0.0, loraB1[(k - OUT0) * RANK + j], g == 1u); }
  return select(0.0, loraB2[(k - OUT0 - OUT1) * RANK + j], g == 2u);
}
