// rope: rotary position embedding in place, HF rotate_half pairing (element i with i + r/2) on the first
// r = rotDim dims of each head (partial RoPE, Qwen3.5's partial_rotary_factor; r = headDim for the others),
// the other headDim − r dims passed through:
//   out[i]       = x[i] cos(θ) - x[i+r/2] sin(θ)
//   out[i + r/2] = x[i+r/2] cos(θ) + x[i] sin(θ),   θ = pos * invFreq[i], i < r/2, pos = pos0 + (row % T)
// The backward pass is the same rotation by -θ (sign = -1): the transpose of a rotation.
// A second tensor x2 [rows, heads2*headDim] at the same positions turns in the same dispatch (q and k).
// Bindings: 0 params, 1 x f32 [rows, heads*headDim] (in place), 2 cos f32 [maxPos, r/2], 3 sin f32 [maxPos, r/2],
//           4 dyn u32 [1] = pos0 (written before each generation step; 0 in training), 5 x2 f32 (in place; any buffer when heads2 = 0).
// Dispatch: one thread per (row, head of x then of x2, i < r/2), 256 per workgroup, 2D grid when large.
// Numerics: cos/sin tables computed on the CPU (src/engine/rope-table.ts), one f32 rotation. Checked by test/rope.test.ts.
struct Params { rows: u32, T: u32, heads: u32, headDim: u32, sign: f32, heads2: u32, rotDim: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosT: array<f32>;
@group(0) @binding(3) var<storage, read> sinT: array<f32>;
@group(0) @binding(4) var<storage, read> dyn: array<u32>;
@group(0) @binding(5) var<storage, read_write> x2: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + li;
  let halfD = params.rotDim / 2u;
  let heads = params.heads + params.heads2;
  let total = params.rows * heads * halfD;
  if (idx >= total) { return; }
  let i = idx % halfD;
  let h = (idx / halfD) % heads;
  let row = idx / (halfD * heads);
  let pos = dyn[0] + row % params.T;
  let c = cosT[pos * halfD + i];
  let s = params.sign * sinT[pos * halfD + i];
  if (h < params.heads) {
    let base = row * params.heads * params.headDim + h * params.headDim;
    let a = x[base + i];
    let b = x[base + i + halfD];
    x[base + i] = a * c - b * s;
    x[base + i + halfD] = b * c + a * s;
  } else {
    let base = row * params.heads2 * params.headDim + (h - params.heads) * params.headDim;
    let a = x2[base + i];
    let b = x2[base + i + halfD];
    x2[base + i] = a * c - b * s;
    x2[base + i + halfD] = b * c + a * s;
  }
}
