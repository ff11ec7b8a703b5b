// The Python reference stack (torch CPU, transformers, PEFT, TRL) as a test oracle: a virtual environment in
// the git-ignored .cache/pyenv, made and filled with pip on first use and reused after; jobs go to
// test/python/peft_oracle.py as JSON on stdin. Where Python or the install is not possible, the reason is
// returned so the test can report a visible skip (never a silent pass).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const VENV = join(ROOT, '.cache', 'pyenv');
const PYTHON = join(VENV, 'bin', 'python');
const ORACLE = join(ROOT, 'test', 'python', 'peft_oracle.py');
const PACKAGES = ['torch', 'transformers', 'peft', 'trl'];

export type Oracle = { ok: true; run: (job: Record<string, unknown>) => Record<string, unknown> } | { ok: false; reason: string };

function importsWork(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, transformers, peft, trl'], { stdio: 'ignore' }).status === 0;
}

/** The oracle, installing the stack the first time (a few minutes from a local package index). */
export function pythonOracle(): Oracle {
  if (!importsWork()) {
    try {
      execFileSync('python3', ['--version'], { stdio: 'ignore' });
    } catch {
      return { ok: false, reason: 'python3 is not installed' };
    }
    const venv = spawnSync('python3', ['-m', 'venv', VENV], { encoding: 'utf8' });
    if (venv.status !== 0) return { ok: false, reason: `python3 -m venv failed: ${venv.stderr.trim().split('\n').at(-1)}` };
    // --retries 0: an unreachable default index is passed over at once instead of retried for minutes.
    const pip = spawnSync(PYTHON, ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '60', ...PACKAGES], { encoding: 'utf8', timeout: 20 * 60_000 });
    if (pip.status !== 0 || !importsWork()) {
      return { ok: false, reason: `pip install ${PACKAGES.join(' ')} failed: ${(pip.stderr ?? '').trim().split('\n').filter((l) => !l.startsWith('WARNING')).at(-1) ?? pip.error?.message}` };
    }
  }
  return {
    ok: true,
    run(job) {
      const r = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 64 * 2 ** 20, timeout: 10 * 60_000 });
      const last = r.stdout?.trim().split('\n').at(-1);
      if (r.status !== 0 || !last) throw new Error(`peft_oracle.py ${String(job.job)} failed (${r.status}): ${(r.stderr ?? '').slice(-3000)}`);
      return JSON.parse(last);
    },
  };
}
