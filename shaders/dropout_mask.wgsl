// dropout_mask (snippet, prepended to dropout.wgsl and operand_dense_dropout.wgsl): the inverted-dropout
// mask as a pure function of (seed, stream, element index), so a kernel can apply it where it reads x
// and the backward pass regenerates it instead of storing it. keep ⇔ uniform(hash) ≥ p; the 24 random
// bits give a uniform in [0, 1). Checked bit for bit by test/elementwise.test.ts (src/ref/activation.ts).

// PCG hash (Jarzynski & Olano 2020): cheap, good enough for dropout masks.
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn dropoutKeep(seed: u32, stream: u32, i: u32, p: f32) -> bool {
  let h = pcg(i ^ pcg(seed ^ pcg(stream)));
  return f32(h >> 8u) * (1.0 / 16777216.0) >= p;
}
