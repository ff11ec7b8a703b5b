// Wrappers of shaders/l2norm_{fwd,bwd}.wgsl: per-head L2 normalisation in place (Gated DeltaNet's q and k).
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { L2NORM_EPS } from '../../ref/l2norm';
import { threads } from './common';

/** Where the heads sit: `heads` heads of D floats from column col0 of rows `stride` floats wide. */
export interface HeadSpan {
  rows: number;
  heads: number;
  D: number;
  stride: number;
  col0: number;
}

function params(s: HeadSpan, eps: number): Params {
  return new Params().u32(s.rows).u32(s.heads).u32(s.D).u32(s.stride).u32(s.col0).f32(eps).u32(0).u32(0);
}

/** x ← x / sqrt(Σx² + eps) per head, in place; rnorm [rows, heads] keeps 1/sqrt(...) for the backward. */
export function l2normFwd(rec: Recorder, x: Binding, rnorm: Binding, s: HeadSpan, eps = L2NORM_EPS): void {
  rec.dispatch(KERNELS.l2normFwd, params(s, eps), [x, rnorm], threads(rec.ctx, s.rows * s.heads));
}

/** dy ← dx in place, from y (l2normFwd's output, same layout) and rnorm. */
export function l2normBwd(rec: Recorder, dy: Binding, y: Binding, rnorm: Binding, s: HeadSpan): void {
  rec.dispatch(KERNELS.l2normBwd, params(s, 0), [dy, y, rnorm], threads(rec.ctx, s.rows * s.heads));
}
