// Wrappers of shaders/q_gate_split.wgsl and shaders/sigmoid_gate_{fwd,bwd}.wgsl: Qwen3.5's full attention
// with an output gate, whose q_proj output qg [rows, H, 2·hd] interleaves each head's query and gate.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { threads } from './common';

/** q [rows, H·hd] ← the query halves of qg (before q_norm and RoPE). */
export function qGateSplit(rec: Recorder, q: Binding, qg: Binding, rows: number, H: number, hd: number): void {
  rec.dispatch(KERNELS.qGateSplit, new Params().u32(rows).u32(H).u32(hd).u32(0), [qg, q], threads(rec.ctx, rows * H * hd));
}

/** The query halves of dqg ← dq [rows, H·hd] (sigmoidGateBwd writes the gate halves). */
export function qGateJoin(rec: Recorder, dqg: Binding, dq: Binding, rows: number, H: number, hd: number): void {
  rec.dispatch(KERNELS.qGateSplit, new Params().u32(rows).u32(H).u32(hd).u32(1), [dqg, dq], threads(rec.ctx, rows * H * hd));
}

/** y [rows, H·hd] = a·sigmoid(gate halves of qg). */
export function sigmoidGateFwd(rec: Recorder, y: Binding, a: Binding, qg: Binding, rows: number, H: number, hd: number): void {
  rec.dispatch(KERNELS.sigmoidGateFwd, new Params().u32(rows).u32(H).u32(hd).u32(0), [a, qg, y], threads(rec.ctx, rows * H * hd));
}

/** da [rows, H·hd] and the gate halves of dqg [rows, H·2·hd] from dy. */
export function sigmoidGateBwd(rec: Recorder, da: Binding, dqg: Binding, dy: Binding, a: Binding, qg: Binding, rows: number, H: number, hd: number): void {
  rec.dispatch(KERNELS.sigmoidGateBwd, new Params().u32(rows).u32(H).u32(hd).u32(0), [dy, a, qg, da, dqg], threads(rec.ctx, rows * H * hd));
}
