// A Python with the packages a cross-check needs, in a git-ignored venv of the test's own
// (.cache/pyenv, created on first use, packages pip-installed on demand), never the machine's site
// packages. QLORA_TEST_PYTHON=/path/to/python uses that interpreter instead. When no Python, no venv
// module or no package index is there, the answer is the reason, for a visible skip: a check that
// cannot run must say so rather than pass.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PythonPackage {
  readonly pip: string; // the name pip installs (`rouge-score`)
  readonly module: string; // the name Python imports (`rouge_score`)
}

export type PythonEnv = { readonly python: string; readonly skip?: undefined } | { readonly python?: undefined; readonly skip: string };

const VENV = new URL('../../.cache/pyenv', import.meta.url).pathname;
const PIP_TIMEOUT_MS = 20 * 60_000; // torch's CPU wheel is the big one

function imports(python: string, module: string): boolean {
  try {
    execFileSync(python, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

function lastLine(e: unknown): string {
  const err = e as { stderr?: Buffer | string; message?: string };
  const text = String(err.stderr ?? err.message ?? e).trim().split('\n');
  return text[text.length - 1] ?? '';
}

function venvPython(): string | { skip: string } {
  const python = join(VENV, 'bin', 'python');
  if (existsSync(python)) return python;
  try {
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  } catch (e) {
    return { skip: `could not create a Python venv in ${VENV} (${lastLine(e)}); install python3 with its venv module` };
  }
  return python;
}

/** An interpreter that imports every package, or why there is none. */
export function pythonWith(packages: readonly PythonPackage[]): PythonEnv {
  const given = process.env.QLORA_TEST_PYTHON;
  if (given) {
    const missing = packages.filter((p) => !imports(given, p.module));
    return missing.length === 0
      ? { python: given }
      : { skip: `QLORA_TEST_PYTHON=${given} lacks ${missing.map((p) => p.pip).join(', ')}` };
  }
  const python = venvPython();
  if (typeof python !== 'string') return python;
  const missing = packages.filter((p) => !imports(python, p.module));
  if (missing.length === 0) return { python };
  try {
    // --retries 0: an unreachable index is passed over at once instead of retried for minutes per package.
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '60', ...missing.map((p) => p.pip)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: PIP_TIMEOUT_MS });
  } catch (e) {
    return { skip: `pip could not install ${missing.map((p) => p.pip).join(', ')} into ${VENV} (${lastLine(e)})` };
  }
  const still = packages.filter((p) => !imports(python, p.module));
  return still.length === 0 ? { python } : { skip: `${still.map((p) => p.module).join(', ')} still do not import after pip install` };
}

/** Prints the reason a Python cross-check is skipped, so the run's log shows it. */
export function reportSkip(what: string, env: PythonEnv): void {
  if (env.skip) console.warn(`SKIPPED ${what}: ${env.skip}`);
}
