// The device check (entry: device-check-main.ts; `node .gpu/device-check.js [--quick] [--checks …] [--fixtures DIR] [--backends FILE]`):
// correctness of every matrix-product back end on whatever adapter Dawn gives, without vitest, before any
// timing is trusted. Per back end (backends.ts): dense products (all transposes), frozen-weight linears
// forward and backward on f32/f16/bf16/NF4/NF4-double-quant weights, dropout-fused and fused LoRA products
// (ops/matmul.ts, ops/lora-fused.ts) on ragged shapes against src/ref/matmul.ts on the operands as the back
// end rounds them, each element within a bound that grows with K (product-bound.ts); attention forward and
// backward against src/ref/attention.ts; and the tiny-Llama QLoRA golden run (test/golden.test.ts's
// checks and tolerances on the exact back end, the first-step loss on the others).
// One JSON line per check: {kind:'check', name, backend, ok, worst_abs, worst_rel, tol} (products add
// worst_over_bound, their tol names K and the rounding the bound assumes); a summary line;
// with --backends, one `name<TAB>ok|failed<TAB>bench flags` line per back end it ran, which
// scripts/gpu-bench.sh reads to time the ones that passed. Exit status 1 if any check failed.
// worst_rel is max |got − want| / max(|want|, atol/rtol): relative error, floored where atol takes over.
import { writeFileSync } from 'node:fs';
import { parseArgs } from '../cli/args';
import type { OptionSpec } from '../cli/args';
import { nodeAdapter } from '../io/node-gpu';
import { createGpuContext, uploadBuffer, readF32, STORAGE } from '../gpu/context';
import type { GpuContext } from '../gpu/context';
import { runOnce } from '../gpu/program';
import type { Recorder } from '../gpu/program';
import { matmul, linearFwd, linearBwd } from '../gpu/ops/matmul';
import { loraLinearFwd, loraLinearBwd, loraGroupA, loraGroupDh, loraGroupDb } from '../gpu/ops/lora-fused';
import { attentionFwd, attentionBwd } from '../gpu/ops/attention';
import { uploadWeight } from '../gpu/weight';
import type { HostWeight } from '../gpu/weight';
import { refAttentionFwd, refAttentionBwd, refAttentionF16Bounds } from '../ref/attention';
import { refDropout } from '../ref/activation';
import { randomF32 } from '../ref/random';
import { f32ToF16Bits, f16ToF32, f32ToBf16Bits, bf16ToF32 } from '../formats/half';
import { quantizeNf4, dequantizeNf4 } from '../quant/nf4';
import { createGpuLora, readLoraGrads, readLoraParams, destroyGpuLora } from '../engine/gpu-lora';
import { ModelPass } from '../engine/causal-lm';
import { Trainer } from '../engine/trainer';
import { peftKey, slotTensors, readAdapterWeights } from '../engine/peft-adapter';
import { destroyModelWeights } from '../engine/gpu-weights';
import { QloraError, isQloraError } from '../errors';
// The golden test's own loader, so the device reproduces exactly what CI checks (no vitest in it).
import { goldenDir, loadGolden, readSafetensors } from '../../test/helpers/golden';
import type { GoldenRun } from '../../test/helpers/golden';
import { matmulBackends } from './backends';
import type { MatmulBackend, Tolerance } from './backends';
import { columns } from '../ref/slices';
import { productReference, checkProduct, addend } from './product-bound';
import type { ProductSpec } from './product-bound';

export interface CheckLine {
  kind: 'check';
  name: string;
  backend: string;
  ok: boolean;
  worst_abs: number | null;
  worst_rel: number | null;
  /** Products: max |got − want| / the element's bound (product-bound.ts); ≤ 1 passes. */
  worst_over_bound?: number | null;
  /** atol/rtol per element, or the bound of a norm-wise check (rel_l2, err_over_update). */
  tol: Record<string, number>;
  /** First mismatch, or the error that stopped the check. */
  detail?: string;
}

type Emit = (line: CheckLine) => void;

/** Elementwise |got − want| ≤ atol + rtol·|want| (NaN fails), with the worst errors. */
export function compare(name: string, backend: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, bound?: ArrayLike<number>): CheckLine {
  if (got.length !== want.length) {
    return { kind: 'check', name, backend, ok: false, worst_abs: null, worst_rel: null, tol: { ...tol }, detail: `length ${got.length}, expected ${want.length}` };
  }
  const relFloor = tol.rtol > 0 ? tol.atol / tol.rtol : 1;
  let worstAbs = 0;
  let worstRel = 0;
  let bad = 0;
  let first = '';
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    const e = Number.isNaN(err) ? Infinity : err;
    worstAbs = Math.max(worstAbs, e);
    worstRel = Math.max(worstRel, e / Math.max(Math.abs(want[i]), relFloor));
    if (!(err <= tol.atol + tol.rtol * Math.abs(want[i]) + (bound ? bound[i] : 0))) {
      if (bad++ === 0) first = `[${i}] got ${got[i]} expected ${want[i]}`;
    }
  }
  const line: CheckLine = { kind: 'check', name, backend, ok: bad === 0, worst_abs: worstAbs, worst_rel: worstRel, tol: { ...tol } };
  if (bad) line.detail = `${bad}/${got.length} outside; first ${first}`;
  return line;
}

/** A norm-wise check: `err` (already relative) ≤ `bound`. */
function bounded(name: string, backend: string, err: number, bound: number, what: string): CheckLine {
  const ok = err <= bound; // NaN fails
  return { kind: 'check', name, backend, ok, worst_abs: null, worst_rel: Number.isFinite(err) ? err : null, tol: { [what]: bound }, ...(ok ? {} : { detail: `${what} ${err} > ${bound}` }) };
}

function l2(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** Buffers of one check, destroyed together; records, submits and reads back inside a validation scope. */
class Scratch {
  private readonly bufs: GPUBuffer[] = [];
  constructor(readonly ctx: GpuContext) {}
  f32(data: ArrayLike<number>): GPUBuffer {
    return this.keep(uploadBuffer(this.ctx, Float32Array.from(data), 'check'));
  }
  u32(data: ArrayLike<number>): GPUBuffer {
    return this.keep(uploadBuffer(this.ctx, Uint32Array.from(data), 'check'));
  }
  empty(floats: number): GPUBuffer {
    return this.keep(this.ctx.createBuffer(floats * 4, STORAGE, 'check'));
  }
  keep(b: GPUBuffer): GPUBuffer {
    this.bufs.push(b);
    return b;
  }
  async run(body: (rec: Recorder) => void, ...outs: GPUBuffer[]): Promise<Float32Array[]> {
    this.ctx.device.pushErrorScope('validation');
    runOnce(this.ctx, 'check', body);
    const err = await this.ctx.device.popErrorScope();
    if (err) throw new Error(`WebGPU validation: ${err.message}`);
    return Promise.all(outs.map((b) => readF32(this.ctx, b)));
  }
  destroy(): void {
    for (const b of this.bufs) this.ctx.destroyBuffer(b);
  }
}

/** Runs one check body; an exception becomes a failed line naming it. */
async function guarded(emit: Emit, name: string, backend: string, body: (s: Scratch) => Promise<CheckLine[]>, ctx: GpuContext): Promise<void> {
  const s = new Scratch(ctx);
  try {
    for (const line of await body(s)) emit(line);
  } catch (e) {
    const msg = isQloraError(e) ? `${e.message} [${e.code}]` : (e as Error).message ?? String(e);
    emit({ kind: 'check', name, backend, ok: false, worst_abs: null, worst_rel: null, tol: {}, detail: `threw: ${msg}` });
  } finally {
    s.destroy();
  }
}

type WeightFormat = 'f32' | 'f16' | 'bf16' | 'nf4' | 'nf4dq';

function hostWeight(format: WeightFormat, W: Float32Array, rows: number, cols: number): { host: HostWeight; dense: Float32Array } {
  if (format === 'f32') return { host: { format, rows, cols, data: W }, dense: W };
  if (format === 'f16' || format === 'bf16') {
    const bits = Uint16Array.from(W, format === 'f16' ? f32ToF16Bits : f32ToBf16Bits);
    return { host: { format, rows, cols, data: bits }, dense: Float32Array.from(bits, format === 'f16' ? f16ToF32 : bf16ToF32) };
  }
  const q = quantizeNf4(W, [rows, cols], { doubleQuant: format === 'nf4dq' });
  return { host: { format: 'nf4', rows, cols, data: q }, dense: dequantizeNf4(q) };
}

/**
 * Shapes: the unit tests' ragged ones (M = 1, K not a multiple of the 16-wide k tile, N not a multiple
 * of 64, rank 1), and in the full set more tiles of the same K (errors grow with K, which the tests'
 * tolerances were set for, not with M or N).
 */
function shapes(quick: boolean) {
  return {
    dense: quick ? [[1, 5, 37], [3, 1, 16], [70, 67, 33]] : [[1, 5, 37], [3, 1, 16], [70, 67, 33], [64, 64, 64], [129, 8, 200], [257, 130, 200]],
    dropout: quick ? [[70, 5, 33]] : [[1, 16, 37], [70, 5, 33], [129, 8, 200]],
    linear: quick ? [[1, 6, 38], [33, 70, 128]] : [[1, 6, 38], [3, 1, 16], [70, 66, 34], [64, 64, 64], [33, 70, 128], [129, 8, 200], [257, 130, 200]],
    formats: (quick ? ['f32', 'nf4', 'nf4dq'] : ['f32', 'f16', 'bf16', 'nf4', 'nf4dq']) as WeightFormat[],
    // [M, out, in, r, group width G, this module's column block]
    loraLinear: quick ? [[1, 6, 38, 1, 1, 0], [70, 66, 34, 16, 3, 2]] : [[1, 6, 38, 1, 1, 0], [70, 66, 34, 16, 3, 2], [33, 130, 20, 16, 2, 1], [257, 130, 200, 16, 3, 1]],
    // [M tokens, in, r, outs of the group's modules]
    loraGroup: (quick ? [[1, 37, 1, [5]], [70, 33, 16, [66, 17]]] : [[1, 37, 1, [5]], [70, 33, 16, [66, 17]], [65, 20, 16, [40, 9, 9]], [3, 64, 1, [2, 3, 1]], [200, 130, 16, [130, 34, 34]]]) as [number, number, number, number[]][],
    // [B, T, H, Hkv, d, window, softcap]
    attention: quick
      ? [[2, 5, 4, 2, 16, 0, 0], [1, 70, 2, 1, 8, 0, 0], [2, 40, 2, 1, 8, 7, 1.5]]
      : [[1, 1, 1, 1, 2, 0, 0], [2, 5, 4, 2, 16, 0, 0], [1, 70, 2, 1, 8, 0, 0], [2, 63, 4, 1, 16, 16, 0], [1, 65, 4, 2, 8, 0, 0.5], [2, 40, 2, 1, 8, 7, 1.5],
        [1, 300, 2, 1, 8, 0, 0], [2, 300, 3, 1, 16, 17, 0.7], [1, 65, 6, 2, 80, 33, 0], [1, 65, 4, 2, 256, 0, 0], [1, 130, 8, 2, 64, 0, 0]],
  };
}

// test/attention.test.ts's tolerances: attention runs in f32 on every matrix-product back end but the
// subgroup-matrix ones, which run it on tensor cores (src/gpu/attention/) and are held, as in
// test/attention-mma.test.ts, to the reference on f16-rounded inputs within refAttentionF16Bounds.
const ATTN_FWD: Tolerance = { atol: 1e-5, rtol: 1e-5 };
const ATTN_BWD: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const f16Round = (x: Float32Array) => x.map((v) => f16ToF32(f32ToF16Bits(v)));

/** One product check: `got` against product-bound.ts's reference and bound for this back end's rounding. */
export function productLine(name: string, be: Pick<MatmulBackend, 'name' | 'numerics'>, got: ArrayLike<number>, spec: ProductSpec): CheckLine {
  const ref = productReference(spec, be.numerics);
  const v = checkProduct(got, ref);
  const K = spec.terms.reduce((s, t) => s + t.K, 0);
  const line: CheckLine = {
    kind: 'check', name, backend: be.name, ok: v.ok, worst_abs: Number.isFinite(v.worstAbs) ? v.worstAbs : null, worst_rel: null,
    worst_over_bound: Number.isFinite(v.worstOverBound) ? v.worstOverBound : null,
    tol: { K, f16_operands: be.numerics.operands === 'f16' ? 1 : 0, f16_products: be.numerics.f16Products ? 1 : 0 },
  };
  if (!v.ok) line.detail = `${v.bad}/${got.length} outside; first ${v.first}`;
  return line;
}

async function productChecks(ctx: GpuContext, be: MatmulBackend, quick: boolean, emit: Emit): Promise<void> {
  const S = shapes(quick);
  const n = be.name;
  for (const [M, N, K] of S.dense) {
    for (const transA of [false, true]) for (const transB of [false, true]) {
      const name = `dense M=${M} N=${N} K=${K} transA=${transA} transB=${transB}`;
      await guarded(emit, name, n, async (s) => {
        const A = randomF32(M * K, 1 + M);
        const B = randomF32(K * N, 2 + N);
        const C0 = randomF32(M * N, 3);
        const bias = randomF32(N, 4);
        const c = s.f32(C0);
        const [got] = await s.run((rec) => matmul(rec, c, s.f32(A), s.f32(B), M, N, K, { transA, transB, alpha: 0.5, beta: 1, bias: s.f32(bias) }), c);
        return [productLine(name, be, got, { M, N, terms: [{ A, B, K, transA, transB, alpha: 0.5 }], addend: addend(M, N, { bias, beta: 1, C: C0 }) })];
      }, ctx);
    }
  }
  for (const [M, N, K] of S.dropout) {
    const name = `dense through dropout M=${M} N=${N} K=${K}`;
    await guarded(emit, name, n, async (s) => {
      const [p, stream, seed] = [0.25, 11, 777];
      const x = randomF32(M * K, 5 + M);
      const a = randomF32(N * K, 6);
      const dh = randomF32(M * N, 7);
      const dA0 = randomF32(N * K, 8);
      const [h, dA, xb, seedBuf] = [s.empty(M * N), s.f32(dA0), s.f32(x), s.u32([seed])];
      const [gh, gdA] = await s.run((rec) => {
        matmul(rec, h, xb, s.f32(a), M, N, K, { transB: true, dropout: { operand: 'A', p, stream, seed: seedBuf } });
        matmul(rec, dA, s.f32(dh), xb, N, K, M, { transA: true, beta: 1, dropout: { operand: 'B', p, stream, seed: seedBuf } });
      }, h, dA);
      const xd = refDropout(x, seed, stream, p);
      return [
        productLine(`${name} h`, be, gh, { M, N, terms: [{ A: xd, B: a, K, transB: true }] }),
        productLine(`${name} dA`, be, gdA, { M: N, N: K, terms: [{ A: dh, B: xd, K: M, transA: true }], addend: dA0 }),
      ];
    }, ctx);
  }
  for (const format of S.formats) {
    for (const [M, N, K] of S.linear) {
      const name = `linear ${format} M=${M} out=${N} in=${K}`;
      await guarded(emit, name, n, async (s) => {
        const { host, dense } = hostWeight(format, randomF32(N * K, 7 + N, -0.5, 0.5), N, K);
        const w = uploadWeight(ctx, host, 'W');
        w.buffers.forEach((b) => s.keep(b));
        const x = randomF32(M * K, 8);
        const bias = randomF32(N, 9);
        const dy = randomF32(M * N, 10);
        const [y, dx] = [s.empty(M * N), s.empty(M * K)];
        const [gy, gdx] = await s.run((rec) => {
          linearFwd(rec, y, s.f32(x), w, M, { bias: s.f32(bias) });
          linearBwd(rec, dx, s.f32(dy), w, M);
        }, y, dx);
        return [
          productLine(`${name} fwd`, be, gy, { M, N, terms: [{ A: x, B: dense, K, transB: true }], addend: addend(M, N, { bias }) }),
          productLine(`${name} bwd`, be, gdx, { M, N: K, terms: [{ A: dy, B: dense, K: N }] }),
        ];
      }, ctx);
    }
  }
  for (const format of ['f32', 'nf4dq'] as const) {
    for (const [M, N, K, r, G, g] of S.loraLinear) {
      const name = `fused LoRA linear ${format} M=${M} out=${N} in=${K} r=${r} block ${g}/${G}`;
      await guarded(emit, name, n, async (s) => {
        const { host, dense: W } = hostWeight(format, randomF32(N * K, 1 + N, -0.5, 0.5), N, K);
        const w = uploadWeight(ctx, host, 'W');
        w.buffers.forEach((b) => s.keep(b));
        const scale = 1.75;
        const [x, h, B, A, bias, y0, dy, dh, dx0] = [M * K, M * G * r, N * r, r * K, N, M * N, M * N, M * G * r, M * K].map((len, i) => randomF32(len, 2 + i));
        const [y, dx] = [s.f32(y0), s.f32(dx0)];
        const [gy, gdx] = await s.run((rec) => {
          loraLinearFwd(rec, y, s.f32(x), w, M, { buffer: s.f32(h), ld: G * r, col: g * r }, s.f32(B), r, scale, { bias: s.f32(bias), beta: 1 });
          loraLinearBwd(rec, dx, s.f32(dy), w, M, { buffer: s.f32(dh), ld: G * r, col: g * r }, s.f32(A), r, { beta: 1 });
        }, y, dx);
        // y = [x | h]·[W | s·B]ᵀ: the kernel loads s·B (rounded to f32) as the second part of its operand
        const sB = B.map((v) => scale * v);
        return [
          productLine(`${name} y`, be, gy, { M, N, terms: [{ A: x, B: W, K, transB: true }, { A: columns(h, M, G * r, g * r, r), B: sB, K: r, transB: true }], addend: addend(M, N, { bias, beta: 1, C: y0 }) }),
          productLine(`${name} dx`, be, gdx, { M, N: K, terms: [{ A: dy, B: W, K: N }, { A: columns(dh, M, G * r, g * r, r), B: A, K: r }], addend: dx0 }),
        ];
      }, ctx);
    }
  }
  for (const [M, K, r, outs] of S.loraGroup) {
    const G = outs.length;
    const name = `grouped LoRA M=${M} in=${K} r=${r} outs=${outs.join(',')}`;
    await guarded(emit, name, n, async (s) => {
      const scale = 0.5;
      const x = randomF32(M * K, 11);
      const As = outs.map((_, i) => randomF32(r * K, 12 + i));
      const Bs = outs.map((o, i) => randomF32(o * r, 20 + i));
      const dys = outs.map((o, i) => randomF32(M * o, 30 + i));
      const hIn = randomF32(M * G * r, 40);
      const rows = outs.reduce((a, b) => a + b, 0);
      const dB0 = randomF32(rows * r, 41);
      const [h, dh, dB] = [s.empty(M * G * r), s.empty(M * G * r), s.f32(dB0)];
      const [gh, gdh, gdB] = await s.run((rec) => {
        loraGroupA(rec, h, s.f32(x), As.map((a) => s.f32(a)), M, K, r);
        loraGroupDh(rec, dh, dys.map((d) => s.f32(d)), Bs.map((b) => s.f32(b)), outs, M, r, scale);
        loraGroupDb(rec, dB, dys.map((d) => s.f32(d)), s.f32(hIn), outs, M, r, scale, 1);
      }, h, dh, dB);
      const lines: CheckLine[] = [];
      let row = 0;
      outs.forEach((o, i) => {
        lines.push(productLine(`${name} h[${i}]`, be, columns(gh, M, G * r, i * r, r), { M, N: r, terms: [{ A: x, B: As[i], K, transB: true }] }));
        lines.push(productLine(`${name} dh[${i}]`, be, columns(gdh, M, G * r, i * r, r), { M, N: r, terms: [{ A: dys[i], B: Bs[i], K: o, alpha: scale }] }));
        const dBi = { M: o, N: r, terms: [{ A: dys[i], B: columns(hIn, M, G * r, i * r, r), K: M, transA: true, alpha: scale }], addend: dB0.subarray(row * r, (row + o) * r) };
        lines.push(productLine(`${name} dB[${i}]`, be, gdB.subarray(row * r, (row + o) * r), dBi));
        row += o;
      });
      return lines;
    }, ctx);
  }
}

async function attentionChecks(ctx: GpuContext, be: MatmulBackend, quick: boolean, emit: Emit): Promise<void> {
  for (const [B, T, H, Hkv, d, window, softcap] of shapes(quick).attention) {
    const name = `attention B=${B} T=${T} H=${H}/${Hkv} d=${d}${window ? ` window=${window}` : ''}${softcap ? ` softcap=${softcap}` : ''}`;
    await guarded(emit, name, be.name, async (s) => {
      const scale = 1 / Math.sqrt(d);
      // Tensor cores: inputs already f16 (so a kernel that falls back to f32 for this head_dim sees the
      // same values), and the backward fed the reference o and lse, as refAttentionF16Bounds assumes.
      const f16 = ctx.gemmBackend === 'subgroup-matrix' || ctx.gemmBackend === 'subgroup-matrix-emulated';
      const input = (x: Float32Array) => (f16 ? f16Round(x) : x);
      const q = input(randomF32(B * T * H * d, 1 + T));
      const k = input(randomF32(B * T * Hkv * d, 2 + T));
      const v = input(randomF32(B * T * Hkv * d, 3 + T));
      const dO = input(randomF32(B * T * H * d, 4 + T));
      const dims = { B, T, H, Hkv, d, scale, window, softcap };
      const ref = refAttentionFwd(q, k, v, dims);
      const [qb, kb, vb] = [s.f32(q), s.f32(k), s.f32(v)];
      const [o, lse] = [s.empty(B * T * H * d), s.empty(B * H * T)];
      const g = { dq: s.empty(q.length), dk: s.empty(k.length), dv: s.empty(v.length), Dsum: s.empty(B * H * T) };
      const [go, glse, gdq, gdk, gdv] = await s.run((rec) => {
        attentionFwd(rec, o, lse, qb, kb, vb, s.u32([0]), { B, Tq: T, H, Hkv, d, kvRows: T, scale, window, softcap });
        attentionBwd(rec, g, s.f32(dO), f16 ? s.f32(ref.o) : o, f16 ? s.f32(ref.lse) : lse, qb, kb, vb, B, T, H, Hkv, d, scale, { window, softcap });
      }, o, lse, g.dq, g.dk, g.dv);
      const rb = refAttentionBwd(dO, q, k, v, dims);
      const bound = f16 ? refAttentionF16Bounds(dO, q, k, v, dims) : undefined;
      return [
        compare(`${name} o`, be.name, go, ref.o, ATTN_FWD, bound?.o), compare(`${name} lse`, be.name, glse, ref.lse, ATTN_FWD),
        compare(`${name} dq`, be.name, gdq, rb.dq, ATTN_BWD, bound?.dq), compare(`${name} dk`, be.name, gdk, rb.dk, ATTN_BWD, bound?.dk),
        compare(`${name} dv`, be.name, gdv, rb.dv, ATTN_BWD, bound?.dv),
      ];
    }, ctx);
  }
}

/** The QLoRA run on our NF4 quantization of the tiny Llama: what the bench times, at golden scale. */
const GOLDEN: GoldenRun = { model: 'tiny-llama', kind: 'qlora', checkpoint: 'float' };

/** test/golden.test.ts's checks on `be`: the whole run on the exact back end, the first loss on the others. */
async function goldenChecks(ctx: GpuContext, be: MatmulBackend, fixtures: string, emit: Emit): Promise<void> {
  const n = be.name;
  const tag = `golden ${GOLDEN.model}/${GOLDEN.kind}`;
  await guarded(emit, tag, n, async () => {
    const g = await loadGolden(ctx, GOLDEN, fixtures);
    const dir = goldenDir(GOLDEN, fixtures);
    const lora = createGpuLora(ctx, g.layout, g.init);
    const lines: CheckLine[] = [];
    try {
      const { batchSize: B, seqLen: T } = g.batch;
      const first = new ModelPass(ctx, g.weights, lora, B, T, false, { keepLogits: true });
      await first.run(g.batch);
      const logits = await first.readLogits();
      const loss = (await first.readLossSum()) / g.batch.targetCount;
      first.destroy();
      lines.push(bounded(`${tag} first-step loss`, n, Math.abs(loss - g.golden.losses[0]) / g.golden.losses[0], be.goldenLossRtol, 'rel'));
      if (!be.goldenTraining) return lines;
      lines.push(compare(`${tag} logits`, n, logits, readSafetensors(dir + 'logits.safetensors').float32('logits'), { atol: 1e-4, rtol: 0 }));
      const o = g.golden.optimizer;
      const trainer = new Trainer(ctx, g.weights, lora, {
        lr: o.lr, scheduler: 'constant', warmupSteps: 0, totalSteps: g.golden.steps, seed: 0, gradientCheckpointing: false,
        optimizer: { beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weight_decay, maxGradNorm: g.golden.max_grad_norm },
      });
      try {
        const pass = trainer.pass(B, T, true);
        await pass.run(g.batch, { gradScale: 1 / g.batch.targetCount });
        const grads = await readLoraGrads(ctx, lora);
        const wantGrads = readSafetensors(dir + 'grads.safetensors');
        let worstGrad = 0;
        for (const slot of g.layout.slots) {
          const got = slotTensors(g.layout, grads, slot);
          for (const which of ['A', 'B'] as const) {
            const want = wantGrads.float32(peftKey(slot, which));
            worstGrad = Math.max(worstGrad, l2(got[which].map((v, i) => v - want[i])) / l2(want));
          }
        }
        lines.push(bounded(`${tag} LoRA gradients (worst tensor)`, n, worstGrad, 1e-4, 'rel_l2'));
        const enc = ctx.device.createCommandEncoder();
        enc.clearBuffer(lora.grads); // the training steps start from clean gradients, as in the test
        ctx.device.queue.submit([enc.finish()]);
        const losses: number[] = [];
        for (let step = 0; step < g.golden.steps; step++) losses.push((await trainer.trainStep([g.batch])).loss);
        losses.push((await trainer.evaluate([g.batch])).loss);
        lines.push(compare(`${tag} losses over ${g.golden.steps} AdamW steps`, n, losses, g.golden.losses, { atol: 0, rtol: 1e-5 }));
        const params = await readLoraParams(ctx, lora);
        const want = readAdapterWeights(readSafetensors(dir + 'adapter_step3/adapter_model.safetensors'), g.layout);
        let worstUpdate = 0;
        for (const slot of g.layout.slots) {
          const [ours, ref, init] = [params, want, g.init].map((p) => slotTensors(g.layout, p, slot));
          for (const which of ['A', 'B'] as const) {
            const update = ref[which].map((v, i) => v - init[which][i]);
            worstUpdate = Math.max(worstUpdate, l2(ours[which].map((v, i) => v - ref[which][i])) / l2(update));
          }
        }
        lines.push(bounded(`${tag} adapter after ${g.golden.steps} steps (worst tensor)`, n, worstUpdate, 1e-3, 'err_over_update'));
      } finally {
        trainer.destroy();
      }
      return lines;
    } finally {
      destroyGpuLora(ctx, lora);
      destroyModelWeights(ctx, g.weights);
    }
  }, ctx);
}

export interface BackendResult {
  backend: MatmulBackend;
  ok: boolean;
  checks: number;
  failed: number;
}

/** Every check on every back end the adapter can run, each on its own device. */
export const CHECK_GROUPS = ['products', 'attention', 'golden'] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

export async function runDeviceChecks(o: { quick: boolean; fixtures: string; groups: readonly CheckGroup[]; emit: Emit }): Promise<{ device: string; results: BackendResult[] }> {
  const backends = matmulBackends(await nodeAdapter());
  const results: BackendResult[] = [];
  let device = '';
  for (const be of backends) {
    const ctx = await createGpuContext(await nodeAdapter(), be.options); // a fresh adapter: one device per adapter
    device = ctx.adapterDescription;
    let [checks, failed] = [0, 0];
    const emit: Emit = (line) => {
      checks++;
      if (!line.ok) failed++;
      o.emit(line);
    };
    emit({ kind: 'check', name: 'back end active', backend: be.name, ok: be.active(ctx), worst_abs: null, worst_rel: null, tol: {} });
    if (o.groups.includes('products')) await productChecks(ctx, be, o.quick, emit);
    if (o.groups.includes('attention')) await attentionChecks(ctx, be, o.quick, emit);
    if (o.groups.includes('golden')) await goldenChecks(ctx, be, o.fixtures, emit);
    results.push({ backend: be, ok: failed === 0, checks, failed });
    ctx.device.destroy();
  }
  return { device, results };
}

const OPTIONS: Record<string, OptionSpec> = {
  quick: { type: 'flag', help: 'the small shapes only (SwiftShader, CI)' },
  checks: { type: 'string', help: `comma list of ${CHECK_GROUPS.join(', ')} (default all)` },
  fixtures: { type: 'string', help: 'folder with golden/ and tiny-llama/ (default test/fixtures)' },
  backends: { type: 'string', help: 'write one `name<TAB>ok|ok-untimed|failed<TAB>bench flags` line per back end checked' },
};

export async function main(argv: string[]): Promise<number> {
  const p = parseArgs(argv, OPTIONS, 'device-check');
  const t0 = performance.now();
  const fixtures = String(p.fixtures ?? 'test/fixtures').replace(/\/?$/, '/');
  const groups = String(p.checks ?? CHECK_GROUPS.join(',')).split(',').map((g) => g.trim()).filter(Boolean);
  const unknown = groups.filter((g) => !(CHECK_GROUPS as readonly string[]).includes(g));
  if (unknown.length) throw new QloraError('ARGUMENT_INVALID', `--checks takes ${CHECK_GROUPS.join(', ')}, not "${unknown.join(',')}".`);
  const { device, results } = await runDeviceChecks({
    quick: !!p.quick,
    fixtures,
    groups: groups as CheckGroup[],
    emit: (line) => process.stdout.write(JSON.stringify(line) + '\n'),
  });
  const ok = results.every((r) => r.ok);
  const backends = results.map((r) => ({ name: r.backend.name, ok: r.ok, checks: r.checks, failed: r.failed }));
  process.stdout.write(JSON.stringify({ kind: 'check-summary', device, ok, quick: !!p.quick, checks: groups, backends, seconds: (performance.now() - t0) / 1000 }) + '\n');
  if (p.backends) writeFileSync(String(p.backends), results.map((r) => `${r.backend.name}\t${r.ok ? (r.backend.timed ? 'ok' : 'ok-untimed') : 'failed'}\t${r.backend.benchFlags.join(' ')}\n`).join(''));
  return ok ? 0 : 1;
}
