#!/usr/bin/env node
// Joins our training lines (bench --record) with PyTorch + PEFT's (../shared/tools/peft_baseline.py's
// stdout) measured on the same GPU in the same run, into results.jsonl lines: one `peft` line per PEFT
// configuration and one `ratio` line per (shape, back end) both sides ran, ratio = our tokens/s ÷ PEFT's.
//   node scripts/join-peft.mjs --ours results.jsonl --peft peft.jsonl --device "NVIDIA H200" --commit abc1234 [--date ISO]
// Lines go to stdout (append them to src/bench/results.jsonl); shapes one side lacks are named on stderr.
// No dependencies: it runs under the GPU runner's bare Node (.gpu/run.sh).
// The two sides differ in one named way: ours trains on an NF4 base (QLoRA), PEFT on a bf16 base (LoRA,
// what peft_baseline.py measures: the speed a user gets from the reference stack); each line says which.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** peft_baseline.py's `targets: "all"` is our all-linear list. */
export const ALL_LINEAR = 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj';

/** JSON objects of a JSON-lines text; other lines (warnings, progress) are skipped. */
export function jsonLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      // a half-written line of a process killed at its time limit
    }
  }
  return out;
}

const key = (l) => [l.model, l.batch, l.seq, l.r, l.targets, l.gradient_checkpointing].join('|');

/**
 * @param {object[]} ours  bench lines (kind 'train' with tokens_per_s are used)
 * @param {object[]} peft  peft_baseline.py lines ({model, batch, seq, r, targets, ckpt, step_ms, tok_s, peak_gib})
 * @param {{device: string, commit: string, date: string}} meta  the GPU (nvidia-smi's name), our commit, the run's date
 * @returns {{lines: object[], unmatched: string[]}}
 */
export function joinPeft(ours, peft, meta) {
  const peftLines = peft
    .filter((p) => typeof p.tok_s === 'number' && p.model)
    .map((p) => ({
      kind: 'peft', model: p.model, batch: p.batch, seq: p.seq, r: p.r,
      targets: p.targets === 'all' ? ALL_LINEAR : p.targets, gradient_checkpointing: !!p.ckpt,
      base: 'bf16', stack: 'pytorch+peft', tokens_per_s: p.tok_s, step_ms: p.step_ms,
      peak_gpu_bytes: typeof p.peak_gib === 'number' ? Math.round(p.peak_gib * 2 ** 30) : null,
      device: meta.device, date: meta.date, commit: meta.commit,
    }));
  const byKey = new Map(peftLines.map((p) => [key(p), p]));
  const lines = [...peftLines];
  const unmatched = [];
  const matched = new Set();
  for (const o of ours) {
    if (o.kind !== 'train' || typeof o.tokens_per_s !== 'number') continue;
    const p = byKey.get(key(o));
    const backend = o.gemm_backend ?? o.backend ?? (o.matmul_f16 ? 'f16' : 'f32'); // older lines: matmul_f16 only
    if (!p) {
      unmatched.push(`ours ${o.model} ${o.batch}x${o.seq} r=${o.r} ${backend}: no PEFT line`);
      continue;
    }
    matched.add(key(p));
    lines.push({
      kind: 'ratio', model: o.model, batch: o.batch, seq: o.seq, r: o.r, targets: o.targets, gradient_checkpointing: o.gradient_checkpointing,
      backend, lm_head_split_k: o.lm_head_split_k ?? 1, quant: o.quant, peft_base: 'bf16', ours_tokens_per_s: o.tokens_per_s, peft_tokens_per_s: p.tokens_per_s,
      ratio: o.tokens_per_s / p.tokens_per_s, ours_device: o.device, device: meta.device, date: meta.date, commit: meta.commit,
    });
  }
  for (const p of peftLines) if (!matched.has(key(p))) unmatched.push(`PEFT ${p.model} ${p.batch}x${p.seq} r=${p.r}: no line of ours`);
  return { lines, unmatched };
}

function option(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && args[i + 1] !== undefined) return args[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`join-peft: --${name} is required`);
}

function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    process.stderr.write(`join-peft: ${path} is missing: no lines from it\n`);
    return '';
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const { lines, unmatched } = joinPeft(jsonLines(read(option(args, 'ours'))), jsonLines(read(option(args, 'peft'))), {
    device: option(args, 'device', 'unknown'),
    commit: option(args, 'commit', 'unknown'),
    date: option(args, 'date', new Date().toISOString()),
  });
  for (const l of lines) process.stdout.write(JSON.stringify(l) + '\n');
  for (const u of unmatched) process.stderr.write(`join-peft: ${u}\n`);
}
