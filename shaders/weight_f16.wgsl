// Weight-format snippet: f16 weight [rows, wCols] row-major, two halves per u32 (little endian), read
// with unpack2x16float so it works without the shader-f16 feature. Exact: every f16 is an f32.
@group(0) @binding(4) var<storage, read> W: array<u32>;
fn weight(r: u32, c: u32) -> f32 {
  let i = r * params.wCols + c;
  return unpack2x16float(W[i >> 1u])[i & 1u];
}
