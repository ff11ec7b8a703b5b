// Wrapper of shaders/cross_entropy.wgsl.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { perItem } from './common';

/**
 * loss[rows] per row; with writeGrad the logits are replaced by gradScale[0] · d(loss)/d(logits).
 * softcap: the logits were soft-capped with that cap (logitSoftcap); the gradient is then the one of
 * the logits before capping.
 */
export function crossEntropy(rec: Recorder, loss: Binding, logits: Binding, targets: Binding, gradScale: Binding, rows: number, V: number, writeGrad: boolean, softcap: number | null = null): void {
  const p = new Params().u32(rows).u32(V).u32(writeGrad ? 1 : 0).f32(softcap ?? 0);
  rec.dispatch(KERNELS.crossEntropy, p, [logits, targets, loss, gradScale], perItem(rec.ctx, rows));
}
