// Operand snippet for the matmul body: dB of up to three LoRA modules with the same input in one product,
// the modules' rows stacked and K block-diagonal over the tokens (alpha = the LoRA scale):
//   dB [OUT0 + OUT1 + OUT2, RANK] = stack_g(dy_gᵀ · h_g),  K = G · T (T tokens, G = GROUP)
//   loadA(o, k) = dy_g[k − g·T, o − ooff_g] when row o and token block k both belong to module g, else 0;
//   loadB(k, j) = h[k − g·T, g·RANK + j], h [T, GROUP·RANK] the group's LoRA activations, g = k / T.
// The rows of the result are the B slots of the modules one after another (copied out by the caller).
// Bindings: 1 dy0 (the body's A), 4 h, 7 dy1, 8 dy2 (unused ones: any buffer).
override RANK: u32 = 16u;
override GROUP: u32 = 1u;
override OUT0: u32 = 0u;
override OUT1: u32 = 0u;
@group(0) @binding(4) var<storage, read> loraH: array<f32>;
@group(0) @binding(7) var<storage, read> dy1: array<f32>;
@group(0) @binding(8) var<storage, read> dy2: array<f32>;
fn loadA(o: u32, k: u32) -> f32 {
  let T = params.K / GROUP;
  let g = k / T;
  let t = k - g * T;
  if (o < OUT0) { return select(0.0, A[t * OUT0 + o], g == 0u); }
  if (o < OUT0 + OUT1) { return select(0.0, dy1[t * OUT1 + o - OUT0], g == 1u); }
  let out2 = params.M - OUT0 - OUT1;
  return select(0.0, dy2[t * out2 + o - OUT0 - OUT1], g == 2u);
}
fn loadB(k: u32, j: u32) -> f32 {
  let T = params.K / GROUP;
  let g = k / T;
  return loraH[(k - g * T) * GROUP * RANK + g * RANK + j];
}
