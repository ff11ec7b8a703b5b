// `npm run bench -- --model <shape|dir> --batch B --seq T --steps N [--lora-r R] [--target …]
// [--quant nf4|f16|f32] [--gradient-checkpointing] [--matmul-f16] [--gemm BACKEND] [--nf4-decode-f16] [--lm-head-split-k auto|S] [--kernels] [--quantize] [--alloc-only] [--json]
// [--record FILE] [--commit SHA] [--kernels-only] [--device-name NAME] [--profile [--profile-clock timestamp|submit]] [--product-ceiling SWEEP_FILE]
// [--sweep [--sweep-out FILE] [--sweep-budget S]]`
// One JSON line per configuration (comma-separated values of --model/--batch/--seq/--quant give the
// grid), the per-kernel table with --kernels, and with --record the lines appended to the results file
// with device, date and commit. --sweep instead checks and times the matrix-product variants (sweep.ts)
// and writes the tuning table with this adapter's winners (--sweep-out). Runs on whatever adapter Dawn finds (DAWN_NODE_PATH/DAWN_FLAGS on the
// GPU runner; VK_ICD_FILENAMES for SwiftShader, where timings mean nothing).
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { execSync } from 'node:child_process';
import { parseArgs, usage } from '../cli/args';
import type { OptionSpec } from '../cli/args';
import { nodeAdapter } from '../io/node-gpu';
import { createGpuContext } from '../gpu/context';
import type { GpuContext } from '../gpu/context';
import { runSweep } from './sweep';
import { readerFor } from '../io/node-files';
import { readModelFiles } from '../io/model-files';
import { prepareBaseWeights, BASE_QUANTS } from '../engine/base-weights';
import { LORA_MODULES, parseTargets } from '../engine/lora';
import { QloraError, isQloraError } from '../errors';
import { shapeConfig, SHAPE_NAMES } from './shapes';
import { runBench, builtInShape, positiveInts, baseQuants, commaList } from './suite';
import type { BenchGrid, ModelLoader } from './suite';
import { GEMM_BACKENDS } from '../gpu/gemm/config';
import { bestSweepTflops } from './kernel-bench';
import type { GemmBackend } from '../gpu/gemm/config';
import type { ProfileClock } from '../gpu/profile';

const OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', help: `built-in shape (${SHAPE_NAMES.join(', ')}) or model folder; comma list` },
  batch: { type: 'string', help: 'batch size(s), comma list (default 1)' },
  seq: { type: 'string', help: 'sequence length(s), comma list (default 512)' },
  steps: { type: 'int', help: 'timed steps (default 5, after one warm-up)' },
  'lora-r': { type: 'int', help: 'LoRA rank (default 16)' },
  target: { type: 'string', help: 'q_proj,v_proj,… or all-linear (default)' },
  quant: { type: 'string', help: `base precision(s): ${BASE_QUANTS.join(', ')}; comma list (default nf4)` },
  'gradient-checkpointing': { type: 'flag', help: 'recompute activations in the backward pass' },
  'lm-head-split-k': { type: 'string', help: "split the lm_head backward over the vocabulary: 'auto' (the rule of gpu/gemm/config.ts chooseSplitK) or a slice count (default 1: unsplit)" },
  kernels: { type: 'flag', help: 'also time each kernel against the device ceilings' },
  'kernels-only': { type: 'flag', help: 'time each kernel at the configurations\' shapes, not the training step' },
  'device-name': { type: 'string', help: 'the GPU\'s name as nvidia-smi gives it, to find its datasheet peaks' },
  quantize: { type: 'flag', help: 'also time quantizing each built-in shape to NF4 on the CPU' },
  'product-ceiling': { type: 'string', help: "a sweep's result file (bench --sweep --sweep-out): its best TFLOP/s is the per-kernel table's FLOP/s ceiling" },
  profile: { type: 'flag', help: 'also time one training step dispatch by dispatch: a "profile" line, GPU time by group and kernel' },
  'profile-clock': { type: 'string', help: "the profile's clock: timestamp (GPU timestamps, the default where offered) or submit (each dispatch submitted and waited for)" },
  'alloc-only': { type: 'flag', help: 'build the buffers and report peak_gpu_bytes without running' },
  'matmul-f16': { type: 'flag', help: 'matrix products on the scalar f16 path (needs shader-f16; = --gemm scalar-f16)' },
  gemm: { type: 'string', help: `matrix-product back end: ${GEMM_BACKENDS.join(', ')} (default: subgroup-matrix where offered, else scalar)` },
  'nf4-decode-f16': { type: 'flag', help: 'decode each NF4 projection into an f16 scratch before its product (GpuContext.nf4Decode; the default on subgroup-matrix)' },
  sweep: { type: 'flag', help: 'check, then time every matrix-product variant of each back end at the models\' product shapes (default models: every grid shape but tiny; batch 8, seq 512) and print the winners' },
  'sweep-out': { type: 'string', help: 'with --sweep: write the tuning table with this adapter\'s winners to FILE (commit it as src/gpu/gemm/tuning-table.json)' },
  'sweep-budget': { type: 'int', help: 'with --sweep: seconds for the whole sweep (default 180)' },
  json: { type: 'flag', help: 'JSON lines only on stdout' },
  help: { type: 'flag', help: 'print these options and exit' },
  record: { type: 'string', help: 'append the results to this JSON-lines file' },
  commit: { type: 'string', help: 'commit to record (default: git rev-parse HEAD)' },
};

function commitOf(given: unknown): string {
  if (typeof given === 'string') return given;
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return process.env.BENCH_COMMIT ?? 'unknown';
  }
}

/** Built-in shapes with random weights, or a model folder read and prepared like `qlora train`. */
const shapeOrFolder: ModelLoader = async (name, quant) => {
  if (shapeConfig(name)) return builtInShape(name, quant);
  const files = await readModelFiles(readerFor(name));
  return { cfg: files.config, host: prepareBaseWeights(files.tensors, files.config, quant) };
};

function lmHeadSplit(v: unknown): number | 'auto' | undefined {
  if (v === undefined) return undefined;
  if (v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new QloraError('CONFIG_INVALID', `--lm-head-split-k: expected 'auto' or a positive integer, got '${String(v)}'.`);
  return n;
}

function profileClock(v: unknown): ProfileClock | 'auto' {
  if (v === undefined) return 'auto';
  if (v === 'timestamp' || v === 'submit') return v;
  throw new QloraError('CONFIG_INVALID', `--profile-clock: expected 'timestamp' or 'submit', got '${String(v)}'.`);
}

/** `--sweep`: the grid models' products (built-in shapes), every back end here unless --gemm names one. */
async function sweep(ctx: GpuContext, p: Record<string, unknown>, gemm: GemmBackend | undefined, out: (line: object) => void): Promise<void> {
  const names = p.model === undefined ? SHAPE_NAMES.filter((n) => n !== 'tiny') : commaList(String(p.model));
  const models = names.map((name) => {
    const cfg = shapeConfig(name);
    if (!cfg) throw new QloraError('CONFIG_INVALID', `--sweep times built-in shapes (${SHAPE_NAMES.join(', ')}); '${name}' is not one.`);
    return { name, cfg };
  });
  const backends: GemmBackend[] = gemm ? [gemm] : ['scalar', ...(ctx.features.f16 ? ['scalar-f16' as const] : []), ...(ctx.features.subgroupMatrix ? ['subgroup-matrix' as const] : [])];
  const tokens = positiveInts('batch', String(p.batch ?? '8'))[0] * positiveInts('seq', String(p.seq ?? '512'))[0];
  const budgetS = (p['sweep-budget'] as number | undefined) ?? 180;
  const table = await runSweep(ctx, { models, tokens, loraR: (p['lora-r'] as number | undefined) ?? 16, budgetS, backends, log: out });
  if (p['sweep-out']) {
    mkdirSync(dirname(String(p['sweep-out'])), { recursive: true });
    writeFileSync(String(p['sweep-out']), JSON.stringify(table, null, 2) + '\n');
  }
  out({ sweep: 'table', entry: table.entries[table.entries.length - 1], written: p['sweep-out'] ?? null });
}

export async function main(argv: string[]): Promise<number> {
  const p = parseArgs(argv, OPTIONS, 'bench');
  if (p.help) {
    process.stdout.write(usage('bench', 'Time training steps and kernels on this GPU (or, with --sweep, tune its matrix products).', OPTIONS) + '\n');
    return 0;
  }
  const grid: BenchGrid = {
    models: commaList(String(p.model ?? 'tiny')),
    quants: baseQuants(String(p.quant ?? 'nf4')),
    batches: positiveInts('batch', String(p.batch ?? '1')),
    seqs: positiveInts('seq', String(p.seq ?? '512')),
    steps: (p.steps as number | undefined) ?? 5,
    lora: { r: (p['lora-r'] as number | undefined) ?? 16, alpha: 32, dropout: 0, targets: p.target ? parseTargets(String(p.target)) : [...LORA_MODULES], rslora: false },
    checkpointing: !!p['gradient-checkpointing'],
    kernels: !!p.kernels,
    quantize: !!p.quantize,
    allocOnly: !!p['alloc-only'],
    kernelsOnly: !!p['kernels-only'],
    deviceName: typeof p['device-name'] === 'string' ? p['device-name'] : undefined,
    lmHeadSplitK: lmHeadSplit(p['lm-head-split-k']),
    profile: p.profile ? profileClock(p['profile-clock']) : undefined,
    sweepTflops: p['product-ceiling'] ? bestSweepTflops(readFileSync(String(p['product-ceiling']), 'utf8')) : undefined,
  };
  const gemm = p.gemm === undefined ? undefined : String(p.gemm);
  if (gemm !== undefined && !(GEMM_BACKENDS as readonly string[]).includes(gemm)) {
    throw new QloraError('CONFIG_INVALID', `--gemm: expected one of ${GEMM_BACKENDS.join(', ')}, got '${gemm}'.`);
  }
  if (gemm && p['matmul-f16'] && gemm !== 'scalar-f16') throw new QloraError('CONFIG_INVALID', `--matmul-f16 means --gemm scalar-f16; it cannot go with --gemm ${gemm}.`);
  // Forcing a back end the adapter lacks throws ADAPTER_LIMITS from createGpuContext, naming what is missing.
  const ctx = await createGpuContext(await nodeAdapter(), { matmulF16: !!p['matmul-f16'], gemm: gemm as GemmBackend | undefined, nf4Decode: p['nf4-decode-f16'] ? 'f16-scratch' : undefined });
  const commit = commitOf(p.commit);
  const out = (line: object) => {
    process.stdout.write(JSON.stringify(line) + '\n');
    if (p.record) {
      mkdirSync(dirname(String(p.record)), { recursive: true });
      appendFileSync(String(p.record), JSON.stringify({ ...line, date: new Date().toISOString(), commit }) + '\n');
    }
  };
  if (!p.json) process.stderr.write(`device: ${ctx.adapterDescription}${ctx.features.f16 ? ' (shader-f16)' : ''}; matrix products: ${ctx.gemmBackend}\n`);
  if (p.sweep) {
    await sweep(ctx, p, gemm as GemmBackend | undefined, out);
    return 0;
  }
  await runBench(ctx, grid, out, shapeOrFolder);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(isQloraError(e) ? `bench: ${e.message} [${e.code}]\n` : `bench: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
