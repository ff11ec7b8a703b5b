// The f16 path of the matrix products (the `scalar-f16` back end of src/gpu/gemm/) against
// src/ref/matmul.ts with its own tolerance (operands and products rounded to f16, ~1e-3 relative), and the golden loss on that path.
// Runs only where the adapter offers `shader-f16` (not SwiftShader).
import { describe, it, beforeAll, expect } from 'vitest';
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../src/io/node-gpu';
import { createGpuContext } from '../src/gpu/context';
import type { GpuContext } from '../src/gpu/context';
import { matmul, linearFwd, linearBwd } from '../src/gpu/ops/matmul';
import { uploadWeight } from '../src/gpu/weight';
import { refMatmul, refLinearFwd, refLinearBwd } from '../src/ref/matmul';
import { quantizeNf4, dequantizeNf4 } from '../src/quant/nf4';
import { ModelPass } from '../src/engine/causal-lm';
import { createGpuLora } from '../src/engine/gpu-lora';
import { f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { loadGolden } from './helpers/golden';

// Decided when the file is collected, so the tests below know whether to run.
useSoftwareAdapterIfNoDriver();
const adapter = await nodeAdapter();
const hasF16 = adapter.features.has('shader-f16');
let ctx: GpuContext | null = null;
beforeAll(async () => {
  if (hasF16) ctx = await createGpuContext(adapter, { matmulF16: true });
});

const F16_TOL = { atol: 2e-3, rtol: 4e-3 };

describe('f16 matrix products', () => {
  it.skipIf(!hasF16)('dense, all transposes, ragged shapes', async () => {
    const c = ctx!;
    expect(c.gemmBackend).toBe('scalar-f16');
    for (const [M, N, K] of [[1, 5, 37], [70, 67, 33], [129, 8, 200]] as const) {
      for (const transA of [false, true]) for (const transB of [false, true]) {
        const A = randomF32(M * K, 1);
        const B = randomF32(K * N, 2);
        const C = emptyBuf(c, M * N);
        const [got] = await run(c, (rec) => matmul(rec, C, f32buf(c, A), f32buf(c, B), M, N, K, { transA, transB }), C);
        expectClose(`C ${M}x${N}x${K} ${transA} ${transB}`, got, refMatmul(A, B, M, N, K, { transA, transB }), F16_TOL);
      }
    }
  });

  it.skipIf(!hasF16)('NF4 linear forward and backward', async () => {
    const c = ctx!;
    const [M, N, K] = [33, 70, 128];
    const q = quantizeNf4(randomF32(N * K, 3, -0.5, 0.5), [N, K]);
    const W = dequantizeNf4(q);
    const w = uploadWeight(c, { format: 'nf4', rows: N, cols: K, data: q }, 'W');
    const x = randomF32(M * K, 4);
    const dy = randomF32(M * N, 5);
    const [y, dx] = [emptyBuf(c, M * N), emptyBuf(c, M * K)];
    const [gy, gdx] = await run(c, (rec) => {
      linearFwd(rec, y, f32buf(c, x), w, M);
      linearBwd(rec, dx, f32buf(c, dy), w, M);
    }, y, dx);
    expectClose('y', gy, refLinearFwd(x, W, M, N, K), F16_TOL);
    expectClose('dx', gdx, refLinearBwd(dy, W, M, N, K), F16_TOL);
  });

  it.skipIf(!hasF16)('golden tiny-llama QLoRA loss within 1e-3 relative on the f16 path', async () => {
    const c = ctx!;
    const g = await loadGolden(c, { model: 'tiny-llama', kind: 'qlora', checkpoint: 'float' });
    const lora = createGpuLora(c, g.layout, g.init);
    const pass = new ModelPass(c, g.weights, lora, g.batch.batchSize, g.batch.seqLen, false);
    await pass.run(g.batch);
    const loss = (await pass.readLossSum()) / g.batch.targetCount;
    expect(Math.abs(loss - g.golden.losses[0]) / g.golden.losses[0]).toBeLessThan(1e-3);
  });
});
