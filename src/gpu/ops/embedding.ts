// Wrapper of shaders/embedding_fwd.wgsl: gather rows of the (frozen) embedding in its stored format.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import type { GpuWeight } from '../weight';
import { perItem } from './common';

/** out[rows, hidden] = E[ids[rows], :] · scale. */
export function embeddingFwd(rec: Recorder, out: Binding, ids: Binding, E: GpuWeight, rows: number, scale = 1): void {
  const p = new Params().u32(rows).u32(E.cols).f32(scale).u32(0).u32(E.cols).u32(E.blocksize).u32(E.nestedBlocksize).f32(E.offset);
  rec.dispatch(KERNELS.embeddingFwd(E.format), p, [ids, out, null, ...E.buffers], perItem(rec.ctx, rows));
}
