// Trust, then verify: the tensor-core back end is chosen by default where the adapter offers it, but its
// shaders go through an experimental WGSL extension whose compiler, subgroup layout and fragment loads
// differ by driver. Before any training runs on it, createGpuContext has it compute two ragged products
// (one per tile size, K across several k steps, every edge partial) and compares them with the CPU on
// the same f16-rounded operands; if a shader fails to build or a number is off, the context falls back
// to `scalar` and says why (GpuContext.gemmFallback) instead of training on wrong products.
// Checked by: test/gemm-self-check.test.ts (passes on the back ends that run here, reports a broken one).
import type { GpuContext } from '../context';
import { STORAGE, readF32, uploadBuffer } from '../context';
import { runOnce } from '../program';
import { matmul } from '../ops/matmul';
import { f16ToF32, f32ToF16Bits } from '../../formats/half';
import type { GemmTile } from './config';
import { refMatmul } from '../../ref/matmul';
import { randomF32 } from '../../ref/random';

/** Values in [-1, 1) already representable in f16, so the CPU multiplies what the tiles hold. */
const operand = (n: number, seed: number): Float32Array => randomF32(n, seed).map((x) => f16ToF32(f32ToF16Bits(x)));

// Ragged against every tile (64, 128), fragment (8, 16) and k step (32): partial tiles on all edges.
const CASES: { M: number; N: number; K: number; tile: GemmTile }[] = [
  { M: 70, N: 67, K: 45, tile: 64 },
  { M: 131, N: 141, K: 77, tile: 128 },
];
// f32 accumulation of ≤ 77 exact f16 products of magnitude < 1: the error is ~1e-5 at worst; an
// indexing or layout bug is off by O(1).
const TOLERANCE = 1e-3;

/** Null when the context's back end computes both products right; else what went wrong. */
export async function checkGemmBackend(ctx: GpuContext): Promise<string | null> {
  for (const c of CASES) {
    const forced: GpuContext = { ...ctx, gemm: { ...ctx.gemm, tile: c.tile } };
    const a = operand(c.M * c.K, 1 + c.tile);
    const b = operand(c.K * c.N, 2 + c.tile);
    const bufs = [uploadBuffer(ctx, a, 'gemm-check.a'), uploadBuffer(ctx, b, 'gemm-check.b'), ctx.createBuffer(c.M * c.N * 4, STORAGE, 'gemm-check.c')];
    let got: Float32Array;
    try {
      ctx.device.pushErrorScope('validation');
      ctx.device.pushErrorScope('internal');
      runOnce(forced, 'gemm-check', (rec) => matmul(rec, bufs[2], bufs[0], bufs[1], c.M, c.N, c.K));
      const internal = await ctx.device.popErrorScope();
      const validation = await ctx.device.popErrorScope();
      const err = validation ?? internal;
      if (err) return `the ${ctx.gemmBackend} shader did not build or run: ${err.message}`;
      got = await readF32(ctx, bufs[2]);
    } catch (e) {
      return `the ${ctx.gemmBackend} shader did not build or run: ${(e as Error).message}`;
    } finally {
      for (const x of bufs) ctx.destroyBuffer(x);
    }
    const want = refMatmul(a, b, c.M, c.N, c.K);
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(got[i] - want[i]) <= TOLERANCE * (1 + Math.abs(want[i])))) {
        const [m, n] = [Math.floor(i / c.N), i % c.N];
        return `a ${c.M}×${c.N}×${c.K} product on ${ctx.gemmBackend} (tile ${c.tile}) gave C[${m}, ${n}] = ${got[i]}, the CPU ${want[i].toPrecision(7)}`;
      }
    }
  }
  return null;
}
