// shaders/q_gate_split.wgsl and shaders/sigmoid_gate_{fwd,bwd}.wgsl against src/ref/sigmoid-gate.ts: q_proj's
// per-head query/gate interleave split and joined back, and attn_output·sigmoid(gate) with its gradients.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { qGateJoin, qGateSplit, sigmoidGateBwd, sigmoidGateFwd } from '../src/gpu/ops/sigmoid-gate';
import { refQGateJoin, refQGateSplit, refSigmoidGateBwd, refSigmoidGateFwd } from '../src/ref/sigmoid-gate';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('sigmoid output gate', () => {
  // [rows, H, hd]: one row and head; tiny-qwen3_5's 4 heads of 32; a ragged head_dim.
  for (const [rows, H, hd] of [[1, 1, 2], [6, 4, 32], [5, 3, 7]] as const) {
    it(`rows=${rows} H=${H} hd=${hd}`, async () => {
      const n = rows * H * hd;
      const qg = randomF32(2 * n, hd + H, -4, 4);
      const a = randomF32(n, hd + 1);
      const dy = randomF32(n, hd + 2);
      const dq = randomF32(n, hd + 3);
      const qgb = f32buf(ctx, qg);
      const ab = f32buf(ctx, a);
      const q = emptyBuf(ctx, n);
      const y = emptyBuf(ctx, n);
      const da = emptyBuf(ctx, n);
      const dqg = emptyBuf(ctx, 2 * n);
      const [gq, gy, gda, gdqg] = await run(ctx, (rec) => {
        qGateSplit(rec, q, qgb, rows, H, hd);
        sigmoidGateFwd(rec, y, ab, qgb, rows, H, hd);
        sigmoidGateBwd(rec, da, dqg, f32buf(ctx, dy), ab, qgb, rows, H, hd);
        qGateJoin(rec, dqg, f32buf(ctx, dq), rows, H, hd);
      }, q, y, da, dqg);
      const { q: refQ, gate } = refQGateSplit(qg, rows, H, hd);
      expectClose('q', gq, refQ, { atol: 0, rtol: 0 });
      expectClose('y', gy, refSigmoidGateFwd(a, gate), { atol: 1e-7, rtol: 1e-6 });
      const g = refSigmoidGateBwd(dy, a, gate);
      expectClose('da', gda, g.da, { atol: 1e-7, rtol: 1e-6 });
      expectClose('dqg (dq | dgate per head)', gdqg, refQGateJoin(dq, g.dgate, rows, H, hd), { atol: 1e-7, rtol: 1e-6 });
    });
  }
});
