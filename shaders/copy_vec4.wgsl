// copy_vec4: dst[i] = src[i] for the vec4<u32> elements i in [0, n): the memory-bandwidth ceiling of the
// per-kernel table (src/bench/kernel-bench.ts measureCeilings), in place of copyBufferToBuffer, which read
// 822 GB/s on an H200 that copies at ≈4.3 TB/s.
// Each invocation moves COPY_VECS 16-byte elements, all loaded before any is stored (COPY_VECS loads in
// flight per thread), at stride = all invocations of the grid, so consecutive lanes touch consecutive
// 16 bytes on every load (coalesced) and the grid is a quarter as wide as one element per thread.
//
// Bindings: 0 params (uniform), 1 src vec4<u32> [n] (read), 2 dst vec4<u32> [n] (written).
// Dispatch: ceil(n / (256·COPY_VECS)) workgroups of 256 in x (1D: 256 MiB is 16,384 workgroups).
// Numerics: bits copied, nothing computed. Checked by: test/copy-vec4.test.ts (every element, ragged n).

struct Params { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;

const COPY_VECS: u32 = 4u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let stride = groups.x * 256u;
  let i0 = gid.x;
  let i1 = i0 + stride;
  let i2 = i1 + stride;
  let i3 = i2 + stride;
  let n = params.n;
  if (i3 < n) {
    // interior: four loads, then four stores, no per-element test in between
    let a = src[i0];
    let b = src[i1];
    let c = src[i2];
    let d = src[i3];
    dst[i0] = a;
    dst[i1] = b;
    dst[i2] = c;
    dst[i3] = d;
    return;
  }
  if (i0 < n) { dst[i0] = src[i0]; }
  if (i1 < n) { dst[i1] = src[i1]; }
  if (i2 < n) { dst[i2] = src[i2]; }
}
