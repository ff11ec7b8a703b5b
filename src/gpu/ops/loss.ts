// Wrapper of shaders/cross_entropy.wgsl.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { perItem } from './common';

/** loss[rows] per row; with gradScale > 0 the logits are replaced by the gradient of mean loss. */
export function crossEntropy(rec: Recorder, loss: Binding, logits: Binding, targets: Binding, rows: number, V: number, gradScale: number, writeGrad: boolean): void {
  const p = new Params().u32(rows).u32(V).f32(gradScale).u32(writeGrad ? 1 : 0);
  rec.dispatch(KERNELS.crossEntropy, p, [logits, targets, loss], perItem(rec.ctx, rows));
}
