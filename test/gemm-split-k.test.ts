// Split-K (src/gpu/gemm/common.ts's K range per workgroup layer z, shaders/gemm_splitk_reduce.wgsl, the
// wrapper in src/gpu/ops/matmul.ts) against src/ref/matmul.ts on ragged shapes — M = 1 and 70, K = 1000
// (a multiple of no k step) cut into 2, 3 and 5 slices with a shorter last one, K = 37 whose 5 requested
// slices collapse to 2, alpha/bias/beta, transposes, an NF4 linearBwd — on `scalar` (f32 tolerance, the
// operands as given) and the emulated subgroup-matrix back end (the reference on f16-rounded operands,
// as test/gemm.test.ts). Each slice's partial is checked on its own K range, so a wrong range is named.
// Then the rule (gemm/config.ts chooseSplitK) on the shapes it is for, and a training pass whose lm_head
// backward is forced to split: the loss and LoRA gradients of the unsplit pass to f32 rounding.
import { describe, it, beforeAll, expect } from 'vitest';
import { useSoftwareAdapterIfNoDriver, nodeAdapter } from '../src/io/node-gpu';
import { createGpuContext } from '../src/gpu/context';
import type { GpuContext, GpuContextOptions } from '../src/gpu/context';
import { matmul, linearBwd } from '../src/gpu/ops/matmul';
import { chooseSplitK, splitK } from '../src/gpu/gemm';
import { uploadWeight } from '../src/gpu/weight';
import { refMatmul, refLinearBwd } from '../src/ref/matmul';
import { f16ToF32, f32ToF16Bits } from '../src/formats/half';
import { quantizeNf4, dequantizeNf4 } from '../src/quant/nf4';
import { f32buf, emptyBuf, run, gpu } from './helpers/gpu';
import { expectClose, expectRelL2, relL2, randomF32 } from './helpers/compare';
import { ModelPass } from '../src/engine/causal-lm';
import { createGpuLora, destroyGpuLora, readLoraGrads } from '../src/engine/gpu-lora';
import { loadGolden } from './helpers/golden';

useSoftwareAdapterIfNoDriver();

const f16round = (x: ArrayLike<number>) => Float32Array.from(x, (v) => f16ToF32(f32ToF16Bits(v)));
const same = (x: ArrayLike<number>) => Float32Array.from(x);
const TOL = { atol: 2e-5, rtol: 1e-5 }; // K = 1000: a few more f32 roundings than test/gemm.test.ts's K ≤ 64

const CASES: { name: string; opts: GpuContextOptions; operand: (x: ArrayLike<number>) => Float32Array }[] = [
  { name: 'scalar', opts: { gemm: 'scalar' }, operand: same },
  { name: 'emulated 16x16x16', opts: { gemm: 'subgroup-matrix-emulated', gemmFrag: { M: 16, N: 16, K: 16 } }, operand: f16round },
];

/** Columns [k0, k1) of a row-major [rows, K] matrix, and rows [k0, k1) of a [K, cols] one. */
const colsOf = (x: Float32Array, rows: number, K: number, k0: number, k1: number) =>
  Float32Array.from({ length: rows * (k1 - k0) }, (_, i) => x[Math.floor(i / (k1 - k0)) * K + k0 + (i % (k1 - k0))]);
const rowsOf = (x: Float32Array, cols: number, k0: number, k1: number) => x.slice(k0 * cols, k1 * cols);

describe('splitK: slices of whole k steps', () => {
  it('K = 1000 into 2, 3, 5; K = 37 into 5 collapses to 2; one slice is the whole K', () => {
    expect(splitK(1000, 2)).toEqual({ kSlice: 512, slices: 2 }); // 512 + 488
    expect(splitK(1000, 3)).toEqual({ kSlice: 352, slices: 3 }); // 352 + 352 + 296
    expect(splitK(1000, 5)).toEqual({ kSlice: 224, slices: 5 }); // 4 × 224 + 104
    expect(splitK(37, 5)).toEqual({ kSlice: 32, slices: 2 }); // 32 + 5
    expect(splitK(1000, 1).slices).toBe(1);
  });

  it('the rule: the lm_head backward of real vocabularies over few tiles; never a test model', () => {
    expect(chooseSplitK(512, 2048, 128256)).toBe(4); // Llama-3.2-1B 8×512 chunk: 64 tiles of 128 → 256
    expect(chooseSplitK(256, 640, 262144)).toBe(7); // Gemma-3-270M: 40 tiles of 64 → 280
    expect(chooseSplitK(512, 4096, 128256)).toBe(2); // Llama-3-8B: 128 tiles
    expect(chooseSplitK(2048, 4096, 128256)).toBe(1); // enough tiles already
    expect(chooseSplitK(64, 64, 512)).toBe(1); // the tiny models: K far below 16384
    expect(chooseSplitK(64, 2048, 8192)).toBe(1);
    expect(chooseSplitK(64, 64, 262144)).toBe(64); // one tile: slices of 4096 at least
  });
});

for (const c of CASES) {
  describe(`split-K gemm ${c.name}`, () => {
    let ctx: GpuContext;
    beforeAll(async () => {
      ctx = await createGpuContext(await nodeAdapter(), c.opts);
    });

    // [M, N, K, S]
    for (const [M, N, K, S] of [[1, 5, 1000, 2], [70, 16, 1000, 3], [70, 37, 1000, 5], [3, 9, 37, 5]] as const) {
      it(`dense M=${M} N=${N} K=${K} S=${S}: alpha/bias/beta, each slice on its K range`, async () => {
        const { kSlice, slices } = splitK(K, S);
        const A = randomF32(M * K, 31 + M);
        const B = randomF32(K * N, 32 + N);
        const C0 = randomF32(M * N, 33);
        const bias = randomF32(N, 34);
        const cb = f32buf(ctx, C0);
        const partial = emptyBuf(ctx, slices * M * N);
        const o = { alpha: 0.5, beta: 1 };
        const [got, parts] = await run(ctx, (rec) =>
          matmul(rec, cb, f32buf(ctx, A), f32buf(ctx, B), M, N, K, { ...o, bias: f32buf(ctx, bias), splitK: { slices: S, partial } }), cb, partial);
        const [a, b] = [c.operand(A), c.operand(B)];
        expectClose(`C ${M}x${N}x${K} S=${S}`, got, refMatmul(a, b, M, N, K, { ...o, C: C0, bias }), TOL);
        for (let z = 0; z < slices; z++) {
          const [k0, k1] = [z * kSlice, Math.min(K, (z + 1) * kSlice)];
          const want = refMatmul(colsOf(a, M, K, k0, k1), rowsOf(b, N, k0, k1), M, N, k1 - k0, { alpha: o.alpha });
          expectClose(`partial z=${z} K [${k0}, ${k1})`, parts.subarray(z * M * N, (z + 1) * M * N), want, TOL);
        }
      });
    }

    it('dense transposed operands, M=70 N=16 K=1000 S=3, no bias, beta 0', async () => {
      const [M, N, K, S] = [70, 16, 1000, 3];
      for (const [transA, transB] of [[true, false], [false, true], [true, true]] as const) {
        const A = randomF32(M * K, 41);
        const B = randomF32(K * N, 42);
        const cb = emptyBuf(ctx, M * N);
        const partial = emptyBuf(ctx, S * M * N);
        const [got] = await run(ctx, (rec) => matmul(rec, cb, f32buf(ctx, A), f32buf(ctx, B), M, N, K, { transA, transB, splitK: { slices: S, partial } }), cb);
        expectClose(`C tA=${transA} tB=${transB}`, got, refMatmul(c.operand(A), c.operand(B), M, N, K, { transA, transB }), TOL);
      }
    });

    it('NF4 linearBwd dx = dy·W, M=33 out(K)=1000 in=70, S=5, beta 1', async () => {
      const [M, out, inF, S] = [33, 1000, 70, 5];
      const q = quantizeNf4(randomF32(out * inF, 43, -0.5, 0.5), [out, inF]);
      const W = dequantizeNf4(q);
      const w = uploadWeight(ctx, { format: 'nf4', rows: out, cols: inF, data: q }, 'W');
      const dy = randomF32(M * out, 44);
      const dx0 = randomF32(M * inF, 45);
      const dx = f32buf(ctx, dx0);
      const partial = emptyBuf(ctx, S * M * inF);
      const [got] = await run(ctx, (rec) => linearBwd(rec, dx, f32buf(ctx, dy), w, M, { beta: 1, splitK: { slices: S, partial } }), dx);
      const want = refLinearBwd(c.operand(dy), c.operand(W), M, out, inF);
      for (let i = 0; i < want.length; i++) want[i] += dx0[i];
      expectClose('dx', got, want, TOL);
    });

    it('a partial buffer too small for the slices is refused', async () => {
      const partial = emptyBuf(ctx, 2 * 4 * 4);
      await expect(run(ctx, (rec) => matmul(rec, emptyBuf(ctx, 16), emptyBuf(ctx, 4 * 100), emptyBuf(ctx, 100 * 4), 4, 4, 100, { splitK: { slices: 4, partial } }))).rejects.toThrow(/split-K partial buffer holds 128 bytes/);
    });
  });
}

// Splitting regroups the K = V sum of dx = dlogits·W (S partial sums, then added), so the pass differs
// from the unsplit one by f32 rounding only. Measured on SwiftShader (tiny-llama QLoRA, V = 512 in 3
// slices of 192, 192, 128, 2 logits chunks): the loss bit for bit (the forward is untouched), the LoRA
// gradients 6.9e-7 relative L2; the tolerance is 1e-5 (a slice over the wrong K range would be O(1)).
describe('a training pass whose lm_head backward splits', () => {
  it('tiny-llama: the unsplit loss and LoRA gradients, one reduce more per logits chunk', async () => {
    const ctx = await gpu();
    const g = await loadGolden(ctx, { model: 'tiny-llama', kind: 'qlora', checkpoint: 'float' });
    const M = g.batch.batchSize * g.batch.seqLen;
    const V = g.files.config.vocabSize;
    const logitsChunkBytes = Math.ceil(M / 2 / 64) * 64 * V * 4; // two chunks, the last one shorter or equal
    const trainPass = async (lmHeadSplitK?: number) => {
      const lora = createGpuLora(ctx, g.layout, g.init);
      const pass = new ModelPass(ctx, g.weights, lora, g.batch.batchSize, g.batch.seqLen, true, { logitsChunkBytes, lmHeadSplitK });
      await pass.run(g.batch, { gradScale: 1 / g.batch.targetCount, seed: 7 });
      const loss = (await pass.readLossSum()) / g.batch.targetCount;
      const grads = await readLoraGrads(ctx, lora);
      const r = { loss, grads, dispatches: pass.program.dispatchCount, chunks: Math.ceil(M / pass.logitsRows) };
      pass.destroy();
      destroyGpuLora(ctx, lora);
      return r;
    };
    const plain = await trainPass();
    const split = await trainPass(3);
    expect(splitK(V, 3).slices).toBe(3);
    expect(split.dispatches - plain.dispatches).toBe(plain.chunks);
    expect(split.loss).toBe(plain.loss);
    expectRelL2('LoRA gradients, split vs unsplit lm_head backward', split.grads, plain.grads, 1e-5);
    console.log(`split-K pass: ${plain.chunks} chunks, loss ${split.loss} vs ${plain.loss}, LoRA gradients rel L2 ${relL2(split.grads, plain.grads).toExponential(2)}`);
  });
});

