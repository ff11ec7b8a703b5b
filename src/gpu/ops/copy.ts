// Wrapper of shaders/copy_vec4.wgsl: a copy as a compute kernel with 16-byte loads, the per-kernel
// table's bandwidth ceiling (src/bench/kernel-bench.ts). Checked by: test/copy-vec4.test.ts.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';

/** Elements each invocation of copy_vec4.wgsl moves (its COPY_VECS). */
const VECS_PER_THREAD = 4;

/** dst = src for `bytes` bytes, a multiple of 16 (whole vec4<u32>). */
export function copyVec4(rec: Recorder, dst: Binding, src: Binding, bytes: number): void {
  if (bytes % 16 !== 0) throw new Error(`copyVec4: ${bytes} bytes, expected a multiple of 16`);
  const n = bytes / 16;
  const groups = Math.ceil(n / (256 * VECS_PER_THREAD));
  const limit = rec.ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups > limit) throw new Error(`copyVec4: ${bytes} bytes need ${groups} workgroups, at most ${limit} in one dimension`);
  rec.dispatch(KERNELS.copyVec4, new Params().u32(n).u32(0).u32(0).u32(0), [src, dst], [groups]);
}
