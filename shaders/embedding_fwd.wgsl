// embedding_fwd: out[row, :] = E[ids[row], :] * scale for row < rows, E [vocab, hidden] in any weight format.
// scale is 1, or Gemma's √hidden already rounded to the embedding's dtype (the product is f32, as
// transformers computes it for an f32 model).
// Bindings: 0 params, 1 ids u32 [rows], 2 out f32 [rows, hidden], 4.. the weight snippet (E).
// Dispatch: (rows) workgroups of 64 threads striding over the hidden dimension.
// Checked by: test/elementwise.test.ts (src/ref/embedding.ts).
struct Params {
  rows: u32, hidden: u32, scale: f32, _p1: u32,
  wCols: u32, qBlock: u32, qNestedBlock: u32, qOffset: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let id = ids[row];
  for (var c = li; c < params.hidden; c += 64u) {
    out[row * params.hidden + c] = weight(id, c) * params.scale;
  }
}
