// Weight-format snippet: f32 weight [rows, wCols] row-major.
@group(0) @binding(4) var<storage, read> W: array<f32>;
fn weight(r: u32, c: u32) -> f32 { return W[r * params.wCols + c]; }
