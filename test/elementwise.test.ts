// shaders/glu_{fwd,bwd}.wgsl (SwiGLU, GeGLU), dropout.wgsl and embedding_fwd.wgsl against src/ref.
import { describe, it, beforeAll, expect } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { gluFwd, gluBwd, dropout } from '../src/gpu/ops/activation';
import { embeddingFwd } from '../src/gpu/ops/embedding';
import { uploadWeight } from '../src/gpu/weight';
import { embeddingScale } from '../src/engine/gpu-weights';
import type { ModelConfig } from '../src/formats/model-config';
import { refGluFwd, refGluBwd, refDropout } from '../src/ref/activation';
import { f32ToBf16Bits, bf16ToF32 } from '../src/formats/half';
import { gpu, f32buf, u32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('gated activations (glu)', () => {
  for (const [act, n] of [['silu', 1], ['silu', 255], ['silu', 1000], ['gelu_tanh', 1], ['gelu_tanh', 257], ['gelu_tanh', 1000]] as const) {
    it(`${act} n=${n}`, async () => {
      const g = randomF32(n, n, -6, 6);
      if (n > 3) g.set([0, 40, -40]); // zero, and where the tanh saturates
      const u = randomF32(n, n + 1, -2, 2);
      const da = randomF32(n, n + 2);
      const [a, dg, du] = [emptyBuf(ctx, n), emptyBuf(ctx, n), emptyBuf(ctx, n)];
      const [gb, ub] = [f32buf(ctx, g), f32buf(ctx, u)];
      const [ga, gdg, gdu] = await run(ctx, (rec) => {
        gluFwd(rec, act, a, gb, ub, n);
        gluBwd(rec, act, dg, du, f32buf(ctx, da), gb, ub, n);
      }, a, dg, du);
      expectClose('a', ga, refGluFwd(act, g, u), { atol: 1e-6, rtol: 1e-5 });
      const ref = refGluBwd(act, da, g, u);
      expectClose('dg', gdg, ref.dg, { atol: 1e-6, rtol: 1e-5 });
      expectClose('du', gdu, ref.du, { atol: 1e-6, rtol: 1e-5 });
    });
  }
});

describe('dropout', () => {
  it('matches the reference mask, keeps about 1 - p, and accumulates with beta', async () => {
    const n = 5000;
    const p = 0.1;
    const x = randomF32(n, 3);
    const base = randomF32(n, 4);
    const out = f32buf(ctx, base);
    const [got] = await run(ctx, (rec) => dropout(rec, out, f32buf(ctx, x), u32buf(ctx, [1234]), n, p, 7, 1), out);
    const ref = refDropout(x, 1234, 7, p).map((v, i) => v + base[i]);
    expectClose('dropout', got, ref, { atol: 1e-6, rtol: 1e-6 });
    const kept = refDropout(x, 1234, 7, p).filter((v) => v !== 0).length / n;
    expect(kept).toBeGreaterThan(0.87);
    expect(kept).toBeLessThan(0.93);
    const other = refDropout(x, 1234, 8, p);
    expect(other.some((v, i) => (v === 0) !== (refDropout(x, 1234, 7, p)[i] === 0))).toBe(true);
  });
});

describe('embedding', () => {
  it('gathers f32 and bf16 rows', async () => {
    const [V, D] = [11, 70];
    const E = randomF32(V * D, 9);
    const ids = [3, 0, 10, 3, 7];
    const out = emptyBuf(ctx, ids.length * D);
    const bits = Uint16Array.from(E, f32ToBf16Bits);
    const out2 = emptyBuf(ctx, ids.length * D);
    const [g1, g2] = await run(ctx, (rec) => {
      embeddingFwd(rec, out, u32buf(ctx, ids), uploadWeight(ctx, { format: 'f32', rows: V, cols: D, data: E }, 'E'), ids.length);
      embeddingFwd(rec, out2, u32buf(ctx, ids), uploadWeight(ctx, { format: 'bf16', rows: V, cols: D, data: bits }, 'E16'), ids.length);
    }, out, out2);
    const want = ids.flatMap((id) => Array.from(E.subarray(id * D, id * D + D)));
    expectClose('f32 rows', g1, want, { atol: 0 });
    const want16 = ids.flatMap((id) => Array.from(bits.subarray(id * D, id * D + D), bf16ToF32));
    expectClose('bf16 rows', g2, want16, { atol: 0 });
  });

  it("scales rows by Gemma's √hidden rounded to the embedding's dtype, the product in f32", async () => {
    const [V, D] = [5, 640];
    const E = randomF32(V * D, 10);
    const bits = Uint16Array.from(E, f32ToBf16Bits);
    const ids = [4, 1];
    const cfg = { architecture: { scaledEmbedding: true }, hiddenSize: D } as ModelConfig;
    expect(embeddingScale(cfg, 'bf16')).toBe(25.25); // √640 = 25.298 in bf16, as transformers' embed_scale.to(bfloat16)
    expect(embeddingScale(cfg, 'f32')).toBe(Math.fround(Math.sqrt(640)));
    expect(embeddingScale({ ...cfg, architecture: { scaledEmbedding: false } } as ModelConfig, 'bf16')).toBe(1);
    const out = emptyBuf(ctx, ids.length * D);
    const [got] = await run(ctx, (rec) => {
      embeddingFwd(rec, out, u32buf(ctx, ids), uploadWeight(ctx, { format: 'bf16', rows: V, cols: D, data: bits }, 'E16'), ids.length, 25.25);
    }, out);
    const want = ids.flatMap((id) => Array.from(bits.subarray(id * D, id * D + D), (b) => Math.fround(bf16ToF32(b) * 25.25)));
    expectClose('scaled bf16 rows', got, want, { atol: 0 });
  });
});
