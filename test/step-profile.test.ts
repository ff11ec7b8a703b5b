// The step profile's plumbing (gpu/profile.ts, Program.timeEachStep, bench/step-profile.ts) and the
// submission budget (gpu/program.ts splitSegments): every dispatch of a recorded program timed once with
// GPU timestamps (SwiftShader offers timestamp-query) and with the submit-and-wait fallback, each with its
// label and a product's FLOPs; the summary's groups and rows; and segments cut before a dispatch that
// would take one past the FLOP budget. The bench's `--profile` line is checked in test/device-check.test.ts's
// smoke run of scripts/gpu-bench.sh.
import { describe, it, expect } from 'vitest';
import { Recorder, splitSegments, SUBMISSION_FLOPS } from '../src/gpu/program';
import type { DispatchCost } from '../src/gpu/program';
import { matmul } from '../src/gpu/ops/matmul';
import { rmsnormFwd } from '../src/gpu/ops/norm';
import { defaultClock } from '../src/gpu/profile';
import type { WorkTime } from '../src/gpu/profile';
import { summarizeProfile, profileGroup, PROFILE_GROUPS } from '../src/bench/step-profile';
import { gpu, f32buf, emptyBuf } from './helpers/gpu';

describe('submission budget', () => {
  type S = { kind: string; cost?: DispatchCost };
  const d = (flops: number): S => ({ kind: 'dispatch', cost: flops ? { flops, shape: '' } : undefined });
  const boundary: S = { kind: 'boundary' };
  const sizes = (segs: { kind: string }[][]) => segs.map((s) => s.length);

  it('cuts before a product that would pass the budget, keeps the recorded boundaries, and lets one large dispatch stand alone', () => {
    const B = SUBMISSION_FLOPS;
    const steps = [d(0.6 * B), d(0), d(0.3 * B), d(0.3 * B), d(2 * B), d(0), boundary, d(0.1 * B), d(0.1 * B)];
    expect(sizes(splitSegments(steps))).toEqual([3, 1, 2, 2]); // [0.6, 0, 0.3] | [0.3] | [2, 0] | [0.1, 0.1]
    for (const seg of splitSegments(steps)) {
      const f = seg.reduce((s, x) => s + (x.cost?.flops ?? 0), 0);
      expect(f <= B || seg.filter((x) => x.cost).length === 1).toBe(true);
    }
  });

  it('without costs, segments are the recorded boundaries only', () => {
    expect(sizes(splitSegments([d(0), d(0), boundary, d(0)]))).toEqual([2, 1]);
  });
});

describe('profile summary', () => {
  it('groups kernels by their labels and products by role and shape, with TFLOP/s', () => {
    expect(['linear_fwd_nf4@scalar/t128', 'lora_group_db@x', 'matmul_tA@y', 'gemm_splitk_reduce'].map(profileGroup)).toEqual(['products', 'products', 'products', 'products']);
    expect(['attention_bwd_dq_d64', 'nf4_decode_f16', 'cross_entropy', 'rmsnorm_fwd', 'glu_bwd_silu', 'copy'].map(profileGroup)).toEqual(['attention', 'decode', 'loss', 'elementwise', 'elementwise', 'copies']);
    const w = (label: string, ms: number | null, cost?: DispatchCost): WorkTime => ({ label, ms, cost });
    const p = summarizeProfile('timestamp', [
      w('linear_fwd_nf4@scalar/t128', 2, { flops: 4e12, shape: '4096x8192x2048' }), w('linear_fwd_nf4@scalar/t64', 2, { flops: 4e12, shape: '4096x8192x2048' }),
      w('linear_fwd_nf4@scalar/t128', 1, { flops: 1e12, shape: '4096x2048x2048' }), w('attention_fwd_d64', 3), w('nf4_decode_f16', 1), w('copy', null),
    ], [w('reduce_sum', 0.5), w('adamw', 0.5), w('clear', null)]);
    expect(p).toMatchObject({ kind: 'profile', clock: 'timestamp', dispatches: 7, total_ms: 10 });
    expect(Object.keys(p.groups)).toEqual([...PROFILE_GROUPS]);
    expect(p.groups.products).toEqual({ ms: 5, share: 0.5, count: 3 });
    expect(p.groups.optimizer).toMatchObject({ ms: 1, count: 2 }); // the optimizer's reduce_sum is its own, not the loss's
    expect(p.groups.copies).toMatchObject({ ms: 0, count: 2 });
    expect(p.kernels[0]).toEqual({ group: 'products', kernel: 'linear_fwd_nf4', shape: '4096x8192x2048', count: 2, ms: 4, tflops: 2000 });
    expect(p.kernels.find((r) => r.kernel === 'copy')).toMatchObject({ ms: null, tflops: null });
  });
});

describe('Program.timeEachStep on this adapter', () => {
  it('times each dispatch with timestamps and with submit-and-wait, labelled, products with their FLOPs', async () => {
    const ctx = await gpu();
    expect(defaultClock(ctx)).toBe('timestamp'); // SwiftShader offers timestamp-query; createGpuContext asks for it
    const [M, N, K] = [33, 20, 17];
    const [a, b, c, x, w, y, rstd] = [f32buf(ctx, new Float32Array(M * K).fill(1)), f32buf(ctx, new Float32Array(K * N).fill(1)), emptyBuf(ctx, M * N), f32buf(ctx, new Float32Array(4 * 8).fill(1)), f32buf(ctx, new Float32Array(8).fill(1)), emptyBuf(ctx, 4 * 8), emptyBuf(ctx, 4)];
    const rec = new Recorder(ctx);
    matmul(rec, c, a, b, M, N, K);
    rec.clear(y);
    rmsnormFwd(rec, y, rstd, x, w, 4, 8, 1e-5);
    const program = rec.finish('profile test');
    for (const clock of ['timestamp', 'submit'] as const) {
      const t = await program.timeEachStep(clock);
      expect(t.map((s) => s.label.split('@')[0])).toEqual(['matmul', 'clear', 'rmsnorm_fwd']);
      expect(t[0].cost).toEqual({ flops: 2 * M * N * K, shape: `${M}x${N}x${K}` });
      expect(t[0].ms).toBeGreaterThanOrEqual(0);
      expect(t[2].ms).toBeGreaterThanOrEqual(0);
      expect(t[1].ms === null).toBe(clock === 'timestamp'); // a clear has no pass to stamp
    }
    program.destroy();
  });
});
