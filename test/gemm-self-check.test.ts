// The check createGpuContext runs before trusting the tensor-core back end (src/gpu/gemm/self-check.ts):
// it passes on every back end that runs here, and reports — rather than trains on — a back end whose
// shader does not build or whose numbers are wrong. (The fallback itself needs an adapter with
// subgroup matrices; what it does with the report is the few lines at the end of createGpuContext.)
import { describe, it, expect } from 'vitest';
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../src/io/node-gpu';
import { createGpuContext } from '../src/gpu/context';
import type { GpuContext } from '../src/gpu/context';
import { checkGemmBackend } from '../src/gpu/gemm/self-check';

useSoftwareAdapterIfNoDriver();

describe('the matrix-product self-check', () => {
  it('passes on scalar and on the emulated tensor-core walk', async () => {
    for (const gemm of ['scalar', 'subgroup-matrix-emulated'] as const) {
      const ctx = await createGpuContext(await nodeAdapter(), { gemm }); // an adapter gives one device
      expect(await checkGemmBackend(ctx), gemm).toBeNull();
      expect(ctx.gemmFallback).toBeUndefined();
      ctx.device.destroy();
    }
  }, 120_000);

  it('reports wrong numbers and a shader that cannot be built', async () => {
    const ctx = await createGpuContext(await nodeAdapter(), { gemm: 'scalar' });
    // A walk that skips every other k step: wrong by O(1), as an indexing bug would be.
    const skipping: GpuContext = { ...ctx, pipeline: (code, label, c) => ctx.pipeline(code.replace('k0 += TK', 'k0 += 2u * TK'), label, c) };
    expect(await checkGemmBackend(skipping)).toMatch(/^a 70×67×45 product on scalar \(tile 64\) gave C\[\d+, \d+\] = .*, the CPU /);
    // A fragment that does not split over the lanes: the generator refuses it.
    const unbuildable: GpuContext = { ...ctx, gemmBackend: 'subgroup-matrix-emulated', gemm: { ...ctx.gemm, backend: 'subgroup-matrix-emulated', subgroupSize: 48 } };
    expect(await checkGemmBackend(unbuildable)).toMatch(/^the subgroup-matrix-emulated shader did not build or run: .*48 lanes/);
    ctx.device.destroy();
  }, 120_000);
});
