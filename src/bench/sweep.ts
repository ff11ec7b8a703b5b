// `bench --sweep`: the matrix-product variants (src/gpu/gemm/variants.ts) of every back end this adapter
// offers, each first checked on the device against the CPU (gemm/self-check.ts checkTiling: a failing
// variant is reported and never chosen), then timed at the product shapes of the grid models — forward
// x·Wᵀ and dx = dy·W of q/k/v/o/gate/up/down and the lm_head (a logits chunk), and the LoRA products
// (x·Aᵀ, dh = dy·B, dA = dhᵀ·x, dB = dyᵀ·h) — in two rounds within a time budget:
//   1. every variant at the largest product of each shape class (config.ts gemmShapeClass);
//   2. the best FINALISTS of round 1 at every product of the class; the least summed time wins.
// Frozen weights are in the format the back end's training path multiplies: f16 (the NF4 f16 scratch) on
// subgroup-matrix, NF4 decoded in the tiles on scalar and scalar-f16, the tied bf16 embedding for the lm_head.
// The result is the tuning table (gemm/tuning-table.json) with this adapter's entry added or replaced, and
// one JSON line per back end and class (winner, its time, the default's) for the log.
import type { GpuContext } from '../gpu/context';
import { STORAGE } from '../gpu/context';
import { Recorder } from '../gpu/program';
import type { Program } from '../gpu/program';
import { linearBwd, linearFwd, matmul } from '../gpu/ops/matmul';
import { uploadWeight } from '../gpu/weight';
import type { GpuWeight } from '../gpu/weight';
import { defaultTiling, gemmShapeClass, GEMM_SHAPE_CLASSES, variantSpace, tilingId } from '../gpu/gemm';
import type { GemmBackend, GemmSetup, GemmShapeClass, GemmTiling } from '../gpu/gemm';
import { checkTiling } from '../gpu/gemm/self-check';
import { TUNING_TABLE, withEntry } from '../gpu/gemm/tuning';
import type { TuningEntry, TuningTable } from '../gpu/gemm/tuning';
import { modelLoraModules, moduleShape } from '../engine/lora';
import { logitsChunkRows } from '../engine/causal-lm';
import type { ModelConfig } from '../formats/model-config';
import type { WeightFormat } from '../gpu/shaders';
import { randomHalf, randomWeight } from './random-weights';
import { timeGpu } from './timing';

/** Variants of round 1 that go on to every product of their class. */
const FINALISTS = 3;
/** GPU time one timing aims for (reps = this / one run's time, 1..20): long enough to average, short for the budget. */
const TARGET_MS = 25;

export type SweepRole = 'fwd' | 'dx' | 'lora_a' | 'lora_dh' | 'lora_da' | 'lora_db' | 'lm_head_fwd' | 'lm_head_dx';

/** One product of a training step: C[M, N] over K, what it computes, and who has it. */
export interface SweepProduct {
  readonly role: SweepRole;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly where: string[];
}

export interface SweepOptions {
  models: { name: string; cfg: ModelConfig }[];
  /** Rows of a step's products: batch × sequence length. */
  tokens: number;
  loraR: number;
  budgetS: number;
  backends: GemmBackend[];
  log: (line: object) => void;
}

/** The distinct products of the models' training steps at `tokens` rows (the same shape in several places once). */
export function sweepProducts(models: { name: string; cfg: ModelConfig }[], tokens: number, r: number): SweepProduct[] {
  const byKey = new Map<string, SweepProduct>();
  const add = (role: SweepRole, M: number, N: number, K: number, where: string) => {
    const key = `${role}/${M}/${N}/${K}`;
    const p = byKey.get(key) ?? { role, M, N, K, where: [] };
    p.where.push(where);
    byKey.set(key, p);
  };
  for (const { name, cfg } of models) {
    const M = tokens;
    for (const m of modelLoraModules(cfg)) {
      const [out, inF] = moduleShape(cfg, m);
      const at = `${name} ${m}`;
      add('fwd', M, out, inF, at);
      add('dx', M, inF, out, at);
      add('lora_a', M, r, inF, at);
      add('lora_dh', M, r, out, at);
      add('lora_da', r, inF, M, at);
      add('lora_db', out, r, M, at);
    }
    const R = logitsChunkRows(M, cfg.vocabSize);
    add('lm_head_fwd', R, cfg.vocabSize, cfg.hiddenSize, `${name} lm_head`);
    add('lm_head_dx', R, cfg.hiddenSize, cfg.vocabSize, `${name} lm_head`);
  }
  return [...byKey.values()];
}

const flops = (p: SweepProduct) => 2 * p.M * p.N * p.K;

/** The frozen-weight format a back end's training path multiplies (see the header). */
const frozenFormat = (backend: GemmBackend): WeightFormat => (backend === 'subgroup-matrix' ? 'f16' : 'nf4');

/** Buffers of one product, built once and shared by every variant timed on it. */
interface Operands {
  run(rec: Recorder): void;
  destroy(): void;
}

function operands(ctx: GpuContext, p: SweepProduct, backend: GemmBackend): Operands {
  const owned: GPUBuffer[] = [];
  const buf = (floats: number) => {
    const b = ctx.createBuffer(floats * 4, STORAGE, 'sweep');
    owned.push(b);
    return b;
  };
  const weight = (rows: number, cols: number, format: WeightFormat): GpuWeight => {
    const seed = 1 + rows + cols;
    const host = format === 'bf16' ? { format, rows, cols, data: randomHalf(rows * cols, seed, true) } : randomWeight(rows, cols, format === 'f16' ? 'f16' : 'nf4', seed);
    const w = uploadWeight(ctx, host, 'sweep.w');
    owned.push(...w.buffers);
    return w;
  };
  const { M, N, K } = p;
  let run: (rec: Recorder) => void;
  switch (p.role) {
    case 'fwd':
    case 'lm_head_fwd': {
      const w = weight(N, K, p.role === 'fwd' ? frozenFormat(backend) : 'bf16');
      const [x, y] = [buf(M * K), buf(M * N)];
      run = (rec) => linearFwd(rec, y, x, w, M);
      break;
    }
    case 'dx':
    case 'lm_head_dx': {
      const w = weight(K, N, p.role === 'dx' ? frozenFormat(backend) : 'bf16'); // W [out = K, in = N]
      const [dy, dx] = [buf(M * K), buf(M * N)];
      run = (rec) => linearBwd(rec, dx, dy, w, M);
      break;
    }
    default: {
      // Dense LoRA products: x·Aᵀ and dy·B un-transposed A; dA = dhᵀ·x and dB = dyᵀ·h read A transposed.
      const transA = p.role === 'lora_da' || p.role === 'lora_db';
      const transB = p.role === 'lora_a';
      const [a, b, c] = [buf(M * K), buf(K * N), buf(M * N)];
      run = (rec) => matmul(rec, c, a, b, M, N, K, { transA, transB });
    }
  }
  return { run, destroy: () => owned.forEach((b) => ctx.destroyBuffer(b)) };
}

function program(ctx: GpuContext, body: (rec: Recorder) => void): Program {
  const rec = new Recorder(ctx);
  body(rec);
  return rec.finish('sweep');
}

/** Milliseconds of one product at one tiling: a warm-up (builds the pipeline), a probe, then enough reps. */
async function timeProduct(ctx: GpuContext, setup: GemmSetup, t: GemmTiling, ops: Operands): Promise<number> {
  const forced: GpuContext = { ...ctx, gemmBackend: setup.backend, gemm: { ...setup, tiling: t } };
  const prog = program(forced, ops.run);
  try {
    const probe = await timeGpu(ctx, () => prog.submit(), 1);
    const reps = Math.max(1, Math.min(20, Math.round(TARGET_MS / Math.max(probe, 1e-3))));
    return reps === 1 ? probe : await timeGpu(ctx, () => prog.submit(), reps, 0);
  } finally {
    prog.destroy();
  }
}

/** Checks and times every variant of each back end within the budget; the table with this adapter's winners. */
export async function runSweep(ctx: GpuContext, o: SweepOptions): Promise<TuningTable> {
  const deadline = performance.now() + o.budgetS * 1000;
  const products = sweepProducts(o.models, o.tokens, o.loraR);
  const tilings: TuningEntry['tilings'] = {};
  for (let b = 0; b < o.backends.length; b++) {
    const backend = o.backends[b];
    // An equal share of what is left to each back end still to sweep.
    const until = performance.now() + (deadline - performance.now()) / (o.backends.length - b);
    const winners = await sweepBackend(ctx, backend, products, until, o.log);
    if (Object.keys(winners).length > 0) tilings[backend] = winners;
  }
  const entry: TuningEntry = {
    adapter: ctx.gemm.adapter ?? { vendor: '', architecture: '', subgroupSize: 0, matrix: [] },
    measured: { device: ctx.adapterDescription, date: new Date().toISOString().slice(0, 10), models: o.models.map((m) => m.name).join(','), tokens: o.tokens, lora_r: o.loraR, budget_s: o.budgetS },
    tilings,
  };
  return withEntry(TUNING_TABLE, entry);
}

async function sweepBackend(
  ctx: GpuContext, backend: GemmBackend, products: SweepProduct[], until: number, log: (line: object) => void,
): Promise<Partial<Record<GemmShapeClass, string>>> {
  // The hardware walk is laid out for the adapter's subgroup size, whatever back end the context runs.
  const subgroupSize = backend === 'subgroup-matrix' ? ctx.gemm.adapter?.subgroupSize || ctx.gemm.subgroupSize : ctx.gemm.subgroupSize;
  const setup = { ...ctx.gemm, backend, subgroupSize };
  const space = variantSpace(backend, setup.frag, setup.subgroupSize, { maxBytes: ctx.limits.maxComputeWorkgroupStorageSize, maxThreads: ctx.limits.maxComputeInvocationsPerWorkgroup });
  const passing: GemmTiling[] = [];
  let checked = 0;
  for (const t of space) {
    if (performance.now() > until) break; // the budget holds for the checks too (seconds each on SwiftShader)
    const why = await checkTiling({ ...ctx, gemmBackend: backend, gemm: { ...setup, tiling: t } }, t);
    checked++;
    if (why) log({ sweep: 'check', backend, tiling: tilingId(t), ok: false, why });
    else passing.push(t);
  }
  log({ sweep: 'checked', backend, variants: space.length, passing: passing.length, checked: checked });
  const winners: Partial<Record<GemmShapeClass, string>> = {};
  for (const cls of GEMM_SHAPE_CLASSES) {
    const mine = products.filter((p) => gemmShapeClass(p.M, p.N) === cls).sort((a, b) => flops(b) - flops(a));
    if (mine.length === 0 || passing.length === 0) continue;
    const fallback = defaultTiling(backend, cls === 'large' ? 128 : 64);
    // Round 1: every passing variant at the class's largest product.
    const round1 = new Map<GemmTiling, number>();
    const ops = operands(ctx, mine[0], backend);
    try {
      for (const t of passing) {
        if (performance.now() > until) break;
        round1.set(t, await timeProduct(ctx, setup, t, ops));
      }
    } finally {
      ops.destroy();
    }
    if (round1.size === 0) continue;
    const finalists = [...round1.entries()].sort((a, b) => a[1] - b[1]).slice(0, FINALISTS).map(([t]) => t);
    const fallbackId = tilingId(fallback);
    if (!finalists.some((t) => tilingId(t) === fallbackId)) {
      const d = passing.find((t) => tilingId(t) === fallbackId);
      if (d) finalists.push(d); // the default is always measured alongside, so a win is a win over it
    }
    // Round 2: the finalists at every product of the class, as long as the budget lasts (largest first).
    const total = new Map<GemmTiling, number>(finalists.map((t) => [t, 0]));
    let timed = 0;
    for (const p of mine) {
      if (performance.now() > until) break;
      const pops = operands(ctx, p, backend);
      try {
        for (const t of finalists) total.set(t, total.get(t)! + await timeProduct(ctx, setup, t, pops));
      } finally {
        pops.destroy();
      }
      timed++;
    }
    const ranked = timed > 0 ? [...total.entries()].sort((a, b) => a[1] - b[1]) : finalists.map((t) => [t, round1.get(t)!] as [GemmTiling, number]);
    const [best, ms] = ranked[0];
    winners[cls] = tilingId(best);
    const def = ranked.find(([t]) => tilingId(t) === fallbackId);
    log({
      sweep: 'winner', backend, class: cls, tiling: tilingId(best), ms, default_tiling: fallbackId, default_ms: def?.[1] ?? null,
      products_timed: timed, products: mine.length, round1: Object.fromEntries([...round1.entries()].map(([t, v]) => [tilingId(t), +v.toFixed(4)])),
    });
  }
  return winners;
}
