// Weight-format snippet: bf16 weight [rows, wCols] row-major, two per u32 (little endian). A bf16 is
// the top half of an f32, so decoding is a shift: exact, and no feature needed.
@group(0) @binding(4) var<storage, read> W: array<u32>;
fn weight(r: u32, c: u32) -> f32 {
  let i = r * params.wCols + c;
  let bits = (W[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu;
  return bitcast<f32>(bits << 16u);
}
