// The fused LoRA products (src/gpu/ops/lora-fused.ts, shaders/operand_lora_*.wgsl) against compositions
// of src/ref/matmul.ts, on ragged shapes (M = 1, odd K and N), rank 1 and 16, groups of 1 to 3 modules.
import { describe, it, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { loraLinearFwd, loraLinearBwd, loraGroupA, loraGroupDh, loraGroupDb } from '../src/gpu/ops/lora-fused';
import { uploadWeight } from '../src/gpu/weight';
import { refMatmul, refLinearFwd, refLinearBwd } from '../src/ref/matmul';
import { quantizeNf4, dequantizeNf4 } from '../src/quant/nf4';
import { gpu, f32buf, emptyBuf, run } from './helpers/gpu';
import { expectClose, randomF32 } from './helpers/compare';
import { add, columns } from '../src/ref/slices';

const TOL = { atol: 2e-5, rtol: 1e-5 };

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});

describe('fused LoRA linear', () => {
  // [M, out, in, r, group width G, this module's column block]
  const CASES: [number, number, number, number, number, number][] = [
    [1, 6, 38, 1, 1, 0],
    [70, 66, 34, 16, 3, 2],
    [33, 130, 20, 16, 2, 1],
  ];
  for (const format of ['f32', 'nf4dq'] as const) {
    for (const [M, N, K, r, G, g] of CASES) {
      it(`${format} y = x·Wᵀ + b + s·h·Bᵀ + y0 and dx = dy·W + dh·A + dx0, M=${M} out=${N} in=${K} r=${r} column block ${g} of ${G}`, async () => {
        const Wd = randomF32(N * K, 1 + N, -0.5, 0.5);
        const q = format === 'nf4dq' ? quantizeNf4(Wd, [N, K], { doubleQuant: true }) : null;
        const W = q ? dequantizeNf4(q) : Wd;
        const w = uploadWeight(ctx, q ? { format: 'nf4', rows: N, cols: K, data: q } : { format: 'f32', rows: N, cols: K, data: Wd }, 'W');
        const scale = 1.75;
        const x = randomF32(M * K, 2);
        const h = randomF32(M * G * r, 3); // the group's activations [M, G·r]
        const B = randomF32(N * r, 4); // [out, r]
        const A = randomF32(r * K, 5); // [r, in]
        const bias = randomF32(N, 6);
        const y0 = randomF32(M * N, 7);
        const dy = randomF32(M * N, 8);
        const dh = randomF32(M * G * r, 9);
        const dx0 = randomF32(M * K, 10);
        const y = f32buf(ctx, y0);
        const dx = f32buf(ctx, dx0);
        const [gy, gdx] = await run(ctx, (rec) => {
          loraLinearFwd(rec, y, f32buf(ctx, x), w, M, { buffer: f32buf(ctx, h), ld: G * r, col: g * r }, f32buf(ctx, B), r, scale, { bias: f32buf(ctx, bias), beta: 1 });
          loraLinearBwd(rec, dx, f32buf(ctx, dy), w, M, { buffer: f32buf(ctx, dh), ld: G * r, col: g * r }, f32buf(ctx, A), r, { beta: 1 });
        }, y, dx);
        const hm = columns(h, M, G * r, g * r, r);
        const dhm = columns(dh, M, G * r, g * r, r);
        expectClose('y', gy, add(refLinearFwd(x, W, M, N, K, bias), refMatmul(hm, B, M, N, r, { transB: true, alpha: scale }), y0), TOL);
        expectClose('dx', gdx, add(refLinearBwd(dy, W, M, N, K), refMatmul(dhm, A, M, K, r), dx0), TOL);
      });
    }
  }
});

describe('grouped LoRA products', () => {
  // [M tokens, in, r, outs of the group's modules]
  const CASES: [number, number, number, number[]][] = [
    [1, 37, 1, [5]],
    [70, 33, 16, [66, 17]],
    [65, 20, 16, [40, 9, 9]],
    [3, 64, 1, [2, 3, 1]],
  ];
  for (const [M, K, r, outs] of CASES) {
    const G = outs.length;
    it(`h = x·[A_g]ᵀ, dh = s·[dy_g·B_g], dB = s·[dy_gᵀ·h_g] + dB0, M=${M} in=${K} r=${r} outs=${outs.join(',')}`, async () => {
      const scale = 0.5;
      const x = randomF32(M * K, 11);
      const As = outs.map((_, i) => randomF32(r * K, 12 + i));
      const Bs = outs.map((o, i) => randomF32(o * r, 20 + i));
      const dys = outs.map((o, i) => randomF32(M * o, 30 + i));
      const hIn = randomF32(M * G * r, 40); // activations for dB (independent of the h computed here)
      const rows = outs.reduce((a, b) => a + b, 0);
      const dB0 = randomF32(rows * r, 41);
      const h = emptyBuf(ctx, M * G * r);
      const dh = emptyBuf(ctx, M * G * r);
      const dB = f32buf(ctx, dB0);
      const [gh, gdh, gdB] = await run(ctx, (rec) => {
        loraGroupA(rec, h, f32buf(ctx, x), As.map((a) => f32buf(ctx, a)), M, K, r);
        loraGroupDh(rec, dh, dys.map((d) => f32buf(ctx, d)), Bs.map((b) => f32buf(ctx, b)), outs, M, r, scale);
        loraGroupDb(rec, dB, dys.map((d) => f32buf(ctx, d)), f32buf(ctx, hIn), outs, M, r, scale, 1);
      }, h, dh, dB);
      let row = 0;
      outs.forEach((o, i) => {
        expectClose(`h[${i}]`, columns(gh, M, G * r, i * r, r), refMatmul(x, As[i], M, r, K, { transB: true }), TOL);
        expectClose(`dh[${i}]`, columns(gdh, M, G * r, i * r, r), refMatmul(dys[i], Bs[i], M, r, o, { alpha: scale }), TOL);
        const want = refMatmul(dys[i], columns(hIn, M, G * r, i * r, r), o, r, M, { transA: true, alpha: scale, beta: 1, C: dB0.subarray(row * r, (row + o) * r) });
        expectClose(`dB[${i}]`, gdB.subarray(row * r, (row + o) * r), want, TOL);
        row += o;
      });
    });
  }
});
