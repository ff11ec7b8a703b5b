// matmul: C[M,N] = alpha * A[M,K] · B[K,N] (+ bias[N]) (+ beta * C)
//
// The body of every matrix product in the engine. The operands come from a snippet concatenated in
// front of this file (src/gpu/ops/matmul.ts): `loadA(m, k)` and `loadB(k, n)` decide the layouts
// (transposes) and the weight format (f32, f16, bf16, NF4, NF4 + double quant), so the NF4 product
// dequantizes each weight as it is loaded into the tile and never materialises W.
//
// Bindings: 0 params (uniform), 1 A f32 (see loadA), 2 C f32 [M, ldc] (read when beta != 0),
//           3 bias f32 [N] (read when hasBias != 0), 4.. operand B (snippet).
// Dispatch: (ceil(N/64), ceil(M/64)); workgroup 16x16 threads, each computing a 4x4 block of C.
// Numerics: f32 products accumulated in f32 along K in order; alpha, bias and beta applied once at the end.
// Checked by: test/matmul.test.ts against src/ref/matmul.ts (f64).

struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  alpha: f32, beta: f32, hasBias: u32,
  wCols: u32, qBlock: u32, qNestedBlock: u32, qOffset: f32,
  dropP: f32, dropStream: u32, // operand_dense_dropout.wgsl's mask; unused by the other operands
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;

const TILE = 64u;
const TK = 16u;
var<workgroup> As: array<array<f32, 64>, 16>; // [k][m]
var<workgroup> Bs: array<array<f32, 64>, 16>; // [k][n]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < params.K; k0 += TK) {
    // 64x16 tiles, 4 elements per thread, k fastest (rows of A and of W are contiguous in k).
    for (var i = 0u; i < 4u; i++) {
      let e = li + i * 256u;
      let kk = e % TK;
      let rr = e / TK;
      let k = k0 + kk;
      var a = 0.0;
      if (m0 + rr < params.M && k < params.K) { a = loadA(m0 + rr, k); }
      As[kk][rr] = a;
      var b = 0.0;
      if (n0 + rr < params.N && k < params.K) { b = loadB(k, n0 + rr); }
      Bs[kk][rr] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = As[kk][lid.y * 4u + i]; }
      for (var j = 0u; j < 4u; j++) { b[j] = Bs[kk][lid.x * 4u + j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = acc[i][j] + a[i] * b[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    if (m >= params.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (n >= params.N) { continue; }
      var r = params.alpha * acc[i][j];
      if (params.hasBias != 0u) { r = r + bias[n]; }
      let idx = m * params.ldc + n;
      if (params.beta != 0.0) { r = r + params.beta * C[idx]; }
      C[idx] = r;
    }
  }
}
