// The Python reference stack (torch CPU, transformers, PEFT, TRL) as a test oracle: the venv of
// python-env.ts, jobs sent to test/python/peft_oracle.py as JSON on stdin. Where Python or the install
// is not possible, the reason comes back so the test reports a visible skip (never a silent pass).
import { spawnSync } from 'node:child_process';
import { pythonWith } from './python-env';

const ORACLE = new URL('../python/peft_oracle.py', import.meta.url).pathname;
const STACK = [
  { pip: 'torch', module: 'torch' },
  { pip: 'transformers', module: 'transformers' },
  { pip: 'peft', module: 'peft' },
  { pip: 'trl', module: 'trl' },
];

export type Oracle = { ok: true; run: (job: Record<string, unknown>) => Record<string, unknown> } | { ok: false; reason: string };

/** The oracle, installing the stack the first time (a few minutes from a local package index). */
export function pythonOracle(): Oracle {
  const env = pythonWith(STACK);
  if (env.skip !== undefined) return { ok: false, reason: env.skip };
  const python = env.python;
  return {
    ok: true,
    run(job) {
      const r = spawnSync(python, [ORACLE], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 64 * 2 ** 20, timeout: 10 * 60_000 });
      const last = r.stdout?.trim().split('\n').at(-1);
      if (r.status !== 0 || !last) throw new Error(`peft_oracle.py ${String(job.job)} failed (${r.status}): ${(r.stderr ?? '').slice(-3000)}`);
      return JSON.parse(last);
    },
  };
}
