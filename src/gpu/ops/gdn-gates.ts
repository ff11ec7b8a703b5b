// Wrappers of shaders/gdn_gates_{fwd,bwd}.wgsl: Gated DeltaNet's decay g and write strength beta per token and
// value head, in the gb [2, rows, Hv] layout the gated delta rule reads (src/gpu/ops/gated-delta-rule.ts).
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { threads } from './common';

/** gb = [g | beta]: g = −exp(A_log)·softplus(a + dt_bias), beta = sigmoid(b); a, b [rows, Hv]. */
export function gdnGatesFwd(rec: Recorder, gb: Binding, a: Binding, b: Binding, aLog: Binding, dtBias: Binding, rows: number, Hv: number): void {
  rec.dispatch(KERNELS.gdnGatesFwd, new Params().u32(rows).u32(Hv).u32(0).u32(0), [a, b, aLog, dtBias, gb], threads(rec.ctx, rows * Hv));
}

/** da, db [rows, Hv] from dgb = [dg | dbeta] (A_log and dt_bias are frozen). */
export function gdnGatesBwd(rec: Recorder, da: Binding, db: Binding, dgb: Binding, a: Binding, b: Binding, aLog: Binding, dtBias: Binding, rows: number, Hv: number): void {
  rec.dispatch(KERNELS.gdnGatesBwd, new Params().u32(rows).u32(Hv).u32(0).u32(0), [a, b, aLog, dtBias, dgb, da, db], threads(rec.ctx, rows * Hv));
}
