#!/usr/bin/env node
// The step profiles of a results file (bench --profile's "profile" lines) as a few readable lines: per
// model and back end, the step's GPU time by group and the kernels that take most of it, so the log of a
// GPU run says what to fix next without opening the JSON.
//   node scripts/profile-summary.mjs results.jsonl [--top N]
// No dependencies: it runs under the GPU runner's bare Node (.gpu/run.sh).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { jsonLines } from './join-peft.mjs';

const pct = (x) => `${(100 * x).toFixed(0)}%`;
const ms = (x) => (x === null ? '—' : `${x.toFixed(2)} ms`);

/** Lines of text for each profile line of `results` (parsed JSON objects). */
export function profileSummary(results, top = 6) {
  const out = [];
  for (const p of results.filter((l) => l.kind === 'profile')) {
    const groups = Object.entries(p.groups).filter(([, g]) => g.count > 0).sort((a, b) => b[1].ms - a[1].ms);
    out.push(`profile ${p.model} ${p.batch}x${p.seq} ${p.gemm_backend} (${p.clock}, ${p.dispatches} dispatches): Σ ${ms(p.total_ms)}` +
      (p.step_ms ? `, step ${ms(p.step_ms)}` : '') + ' | ' + groups.map(([k, g]) => `${k} ${pct(g.share)}`).join(', '));
    for (const r of p.kernels.slice(0, top)) {
      out.push(`  ${r.group.padEnd(11)} ${(r.kernel + (r.shape ? ' ' + r.shape : '')).padEnd(44)} ×${String(r.count).padEnd(4)} ${ms(r.ms).padStart(11)}` +
        (r.tflops ? `  ${r.tflops.toFixed(1)} TFLOP/s` : ''));
    }
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node scripts/profile-summary.mjs results.jsonl [--top N]\n');
    process.exit(2);
  }
  const top = rest[0] === '--top' ? Number(rest[1]) : 6;
  for (const line of profileSummary(jsonLines(readFileSync(file, 'utf8')), top)) process.stdout.write(line + '\n');
}
