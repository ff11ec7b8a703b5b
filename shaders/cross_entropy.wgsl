// cross_entropy: per row r of logits [rows, V] with target t_r (−100 = ignored):
//   loss[r] = logsumexp(logits[r]) - logits[r, t_r]                       (0 when ignored)
//   with writeGrad: logits[r] ← gradScale * (softmax(logits[r]) - onehot(t_r))   (0 when ignored)
// gradScale = 1 / (number of non-ignored targets in the whole batch): torch's mean reduction. It changes
// with every batch, so it is read from a storage buffer written before each step, not baked in params.
// The gradient overwrites the logits in place, so the B×T×V buffer exists once.
// softcap > 0: the logits hold z = cap·tanh(raw / cap) (shaders/logit_softcap.wgsl), and the gradient
// written is the one for the raw logits, d/d(raw) = d/dz · (1 − (z / cap)²).
// Bindings: 0 params, 1 logits f32 [rows, V] (read_write), 2 targets i32 [rows], 3 loss f32 [rows],
//           4 gradScale f32 [1].
// Dispatch: one workgroup of 256 per row (2D grid when large).
// Numerics: f32, max-subtracted; row sums by tree reduction. Checked by test/cross-entropy.test.ts.
struct Params { rows: u32, V: u32, writeGrad: u32, softcap: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read> gradScale: array<f32>;
var<workgroup> red: array<f32, 256>;

fn reduce(li: u32, x: f32, isMax: bool) -> f32 {
  red[li] = x;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (li < s) {
      if (isMax) { red[li] = max(red[li], red[li + s]); } else { red[li] = red[li] + red[li + s]; }
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let tgtRaw = targets[row];
  let base = row * params.V;
  if (tgtRaw < 0) {
    if (li == 0u) { loss[row] = 0.0; }
    if (params.writeGrad != 0u) {
      for (var c = li; c < params.V; c += 256u) { logits[base + c] = 0.0; }
    }
    return;
  }
  var m = -3.0e38;
  for (var c = li; c < params.V; c += 256u) { m = max(m, logits[base + c]); }
  m = reduce(li, m, true);
  var s = 0.0;
  for (var c = li; c < params.V; c += 256u) { s = s + exp(logits[base + c] - m); }
  s = reduce(li, s, false);
  let lse = m + log(s);
  let tgt = u32(tgtRaw);
  if (li == 0u) { loss[row] = lse - logits[base + tgt]; }
  // Every thread has read logits[base + tgt] before anyone overwrites it.
  workgroupBarrier();
  if (params.writeGrad != 0u) {
    for (var c = li; c < params.V; c += 256u) {
      let z = logits[base + c];
      var g = exp(z - lse);
      if (c == tgt) { g = g - 1.0; }
      if (params.softcap > 0.0) {
        let y = z / params.softcap;
        g = g * (1.0 - y * y);
      }
      logits[base + c] = g * gradScale[0];
    }
  }
}
