// Wrapper of shaders/cross_entropy.wgsl.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { perItem } from './common';

/** loss[rows] per row; with writeGrad the logits are replaced by gradScale[0] · d(loss)/d(logits). */
export function crossEntropy(rec: Recorder, loss: Binding, logits: Binding, targets: Binding, gradScale: Binding, rows: number, V: number, writeGrad: boolean): void {
  const p = new Params().u32(rows).u32(V).u32(writeGrad ? 1 : 0).u32(0);
  rec.dispatch(KERNELS.crossEntropy, p, [logits, targets, loss, gradScale], perItem(rec.ctx, rows));
}
