// gemm_splitk_reduce: the second half of a split-K matrix product (src/gpu/gemm/common.ts, ops/matmul.ts).
//   C[m, n] = Σ_{z = 0..S-1} partial[z, m, n] (+ bias[n]) (+ beta · C[m, n])
// where slice z of the product wrote partial[z] = alpha · A[:, Kz]·B[Kz, :] over its K range Kz.
// Bindings: 0 params, 1 partial f32 [S, M, N] (read), 2 C f32 [M, ldc] (read when beta != 0, written),
//           3 bias f32 [N] (read when hasBias != 0).
// Dispatch: (ceil(N / 64), ceil(M / 4)) workgroups of 64 × 4, one invocation per element of C.
// Numerics: f32, the slices added in order z = 0, 1, …, S-1 (deterministic: no atomics), then bias, then
// beta·C — the unsplit epilogue's order. Against the unsplit product only the K sum is regrouped.
// Checked by: test/gemm-split-k.test.ts (against src/ref/matmul.ts on every back end that runs here).
struct Params { M: u32, N: u32, ldc: u32, slices: u32, beta: f32, hasBias: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;

@compute @workgroup_size(64, 4)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  let m = gid.y;
  if (m >= params.M || n >= params.N) { return; }
  let stride = params.M * params.N;
  var s = partial[m * params.N + n];
  for (var z = 1u; z < params.slices; z++) {
    s = s + partial[z * stride + m * params.N + n];
  }
  if (params.hasBias != 0u) { s = s + bias[n]; }
  let idx = m * params.ldc + n;
  if (params.beta != 0.0) { s = s + params.beta * C[idx]; }
  C[idx] = s;
}
