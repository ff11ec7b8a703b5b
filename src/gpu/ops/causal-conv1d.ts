// Wrappers of shaders/causal_conv1d_{fwd,bwd,step}.wgsl: Gated DeltaNet's depthwise causal conv1d with SiLU
// over the q/k/v channels, its input gradient, and the one-token step with a rolling state for generation.
import type { Binding, Recorder } from '../program';
import { Params } from '../program';
import { KERNELS } from '../shaders';
import { bufferOf, threads } from './common';

/** y [B, T, Ch] = silu(causal depthwise conv of x [B, T, Ch] with w [Ch, K]), zero history. */
export function causalConv1dFwd(rec: Recorder, y: Binding, x: Binding, w: Binding, B: number, T: number, Ch: number, K: number): void {
  rec.dispatch(KERNELS.causalConv1dFwd, new Params().u32(B).u32(T).u32(Ch).u32(K), [x, w, y], threads(rec.ctx, B * T * Ch));
}

/** dx [B, T, Ch] from dy (pre-activations recomputed from x; the conv weight is frozen, no dw). */
export function causalConv1dBwd(rec: Recorder, dx: Binding, dy: Binding, x: Binding, w: Binding, B: number, T: number, Ch: number, K: number): void {
  rec.dispatch(KERNELS.causalConv1dBwd, new Params().u32(B).u32(T).u32(Ch).u32(K), [x, w, dy, dx], threads(rec.ctx, B * T * Ch));
}

/** One token x1 [B, Ch] → y [B, Ch], with state [B, K − 1, Ch] (the previous inputs, oldest first) rolled by one. */
export function causalConv1dStep(rec: Recorder, y: Binding, state: Binding, x1: Binding, w: Binding, B: number, Ch: number, K: number): void {
  rec.dispatch(KERNELS.causalConv1dStep, new Params().u32(B).u32(Ch).u32(K).u32(0), [x1, w, state, y], threads(rec.ctx, B * Ch));
}

/**
 * The rolling state after a prefill of T tokens (every sequence T long): the last K − 1 inputs of x [B, T, Ch]
 * (zeros before the first token), by copies. x and state are whole buffers here (their offsets are added).
 */
export function causalConv1dPrefillState(rec: Recorder, state: Binding, x: Binding, B: number, T: number, Ch: number, K: number): void {
  const n = Math.min(T, K - 1);
  const row = Ch * 4;
  const xOff = 'buffer' in x ? x.offset : 0;
  const sOff = 'buffer' in state ? state.offset : 0;
  for (let b = 0; b < B; b++) {
    const base = sOff + b * (K - 1) * row;
    rec.clear(bufferOf(state), base, (K - 1 - n) * row);
    rec.copy(bufferOf(x), xOff + (b * T + T - n) * row, bufferOf(state), base + (K - 1 - n) * row, n * row);
  }
}
