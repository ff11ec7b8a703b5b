// Trust, then verify: the tensor-core back end is chosen by default where the adapter offers it, but its
// shaders go through an experimental WGSL extension whose compiler, subgroup layout and fragment loads
// differ by driver. Before any training runs on it, createGpuContext has it compute two ragged products
// (one per tile size, K across several k steps, every edge partial) and compares them with the CPU on
// the same f16-rounded operands; if a shader fails to build or a number is off, the context falls back
// to `scalar` and says why (GpuContext.gemmFallback) instead of training on wrong products. The tuning
// table's tilings for the adapter are checked the same way, and `bench --sweep` checks each variant by checkTiling.
// The bound follows K: each element may be off by what rounding the back end does to Σ|a·b| (an indexing
// or layout bug is off by O(1)).
// Checked by: test/gemm-self-check.test.ts (passes on the back ends that run here, reports a broken one).
import type { GpuContext } from '../context';
import { STORAGE, readF32, uploadBuffer } from '../context';
import { runOnce } from '../program';
import { matmul } from '../ops/matmul';
import { f16ToF32, f32ToF16Bits } from '../../formats/half';
import type { GemmTile, GemmTiling } from './config';
import { tilingId } from './variants';
import { refMatmul } from '../../ref/matmul';
import { randomF32 } from '../../ref/random';

/** Values in [-1, 1) already representable in f16, so the CPU multiplies what the tiles hold. */
const operand = (n: number, seed: number): Float32Array => randomF32(n, seed).map((x) => f16ToF32(f32ToF16Bits(x)));

// Ragged against every tile (64, 128), fragment (8, 16) and k step (32): partial tiles on all edges.
const CASES: { M: number; N: number; K: number; tile: GemmTile }[] = [
  { M: 70, N: 67, K: 45, tile: 64 },
  { M: 131, N: 141, K: 77, tile: 128 },
];

/** Null when the context's back end computes both products right, with its tuned tilings too; else what went wrong. */
export async function checkGemmBackend(ctx: GpuContext): Promise<string | null> {
  for (const c of CASES) {
    const why = await checkProduct({ ...ctx, gemm: { ...ctx.gemm, tile: c.tile } }, c, `tile ${c.tile}`);
    if (why) return why;
  }
  // The tuned tilings are what will run: each one computes a ragged product right too.
  for (const t of new Set(Object.values(ctx.gemm.tuned ?? {}))) {
    const why = await checkTiling(ctx, t);
    if (why) return why;
  }
  return null;
}

/** Null when the context's back end computes a ragged product right at this tiling (bench --sweep checks each variant so). */
export function checkTiling(ctx: GpuContext, t: GemmTiling): Promise<string | null> {
  // Edge tiles on every side and a whole interior one; a ragged last k tile after two whole ones.
  const c = { M: t.tileM + 3, N: t.tileN + 5, K: 2 * t.kStep + 13 };
  return checkProduct({ ...ctx, gemm: { ...ctx.gemm, tiling: t } }, c, tilingId(t));
}

async function checkProduct(forced: GpuContext, c: { M: number; N: number; K: number }, what: string): Promise<string | null> {
  const backend = forced.gemm.backend;
  const a = operand(c.M * c.K, 1 + c.M);
  const b = operand(c.K * c.N, 2 + c.N);
  const bufs = [uploadBuffer(forced, a, 'gemm-check.a'), uploadBuffer(forced, b, 'gemm-check.b'), forced.createBuffer(c.M * c.N * 4, STORAGE, 'gemm-check.c')];
  let got: Float32Array;
  try {
    forced.device.pushErrorScope('validation');
    forced.device.pushErrorScope('internal');
    runOnce(forced, 'gemm-check', (rec) => matmul(rec, bufs[2], bufs[0], bufs[1], c.M, c.N, c.K));
    const internal = await forced.device.popErrorScope();
    const validation = await forced.device.popErrorScope();
    const err = validation ?? internal;
    if (err) return `the ${backend} shader did not build or run: ${err.message}`;
    got = await readF32(forced, bufs[2]);
  } catch (e) {
    return `the ${backend} shader did not build or run: ${(e as Error).message}`;
  } finally {
    for (const x of bufs) forced.destroyBuffer(x);
  }
  const want = refMatmul(a, b, c.M, c.N, c.K);
  // Σ|a·b| bounds what rounding can do: scalar-f16 rounds each product to f16 (2^-11 relative); the
  // others add exact products in f32 in some order (K·2^-24 relative, < 1e-5 here).
  const size = refMatmul(a.map(Math.abs), b.map(Math.abs), c.M, c.N, c.K);
  const rel = backend === 'scalar-f16' ? 2 ** -11 + 1e-5 : 1e-5;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= rel * size[i] + 1e-6)) {
      const [m, n] = [Math.floor(i / c.N), i % c.N];
      return `a ${c.M}×${c.N}×${c.K} product on ${backend} (${what}) gave C[${m}, ${n}] = ${got[i]}, the CPU ${want[i].toPrecision(7)}`;
    }
  }
  return null;
}
