// A small, strict option parser for the CLI: `--name value`, `--flag`, `--name=value`. Unknown
// options and bad values are errors that name the option and what it accepts.
import { QloraError } from '../errors';

export interface OptionSpec {
  readonly type: 'string' | 'number' | 'int' | 'flag';
  readonly help: string;
  readonly choices?: readonly string[];
}

export type Parsed = Record<string, string | number | boolean | undefined>;

export function parseArgs(argv: string[], specs: Readonly<Record<string, OptionSpec>>, command: string): Parsed {
  const out: Parsed = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new QloraError('ARGUMENT_INVALID', `qlora ${command}: unexpected argument "${arg}". Run "qlora ${command} --help".`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const spec = specs[name];
    if (!spec) throw new QloraError('ARGUMENT_INVALID', `qlora ${command}: unknown option --${name}. Run "qlora ${command} --help".`);
    if (spec.type === 'flag') {
      if (value !== undefined) throw new QloraError('ARGUMENT_INVALID', `--${name} takes no value`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new QloraError('ARGUMENT_INVALID', `--${name} needs a value (${spec.help})`);
    }
    if (spec.choices && !spec.choices.includes(value)) {
      throw new QloraError('ARGUMENT_INVALID', `--${name} must be one of ${spec.choices.join(', ')}; got "${value}"`);
    }
    if (spec.type === 'number' || spec.type === 'int') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        throw new QloraError('ARGUMENT_INVALID', `--${name} must be ${spec.type === 'int' ? 'an integer' : 'a number'}; got "${value}"`);
      }
      out[name] = n;
    } else out[name] = value;
  }
  return out;
}

export function usage(command: string, summary: string, specs: Readonly<Record<string, OptionSpec>>): string {
  const lines = Object.entries(specs).map(([n, s]) => `  --${n}${s.type === 'flag' ? '' : ` <${s.choices ? s.choices.join('|') : s.type}>`}`.padEnd(40) + s.help);
  return `qlora ${command} — ${summary}\n\n${lines.join('\n')}\n`;
}

export function requireOpt<T extends string | number>(p: Parsed, name: string, command: string): T {
  const v = p[name];
  if (v === undefined) throw new QloraError('ARGUMENT_INVALID', `qlora ${command}: --${name} is required. Run "qlora ${command} --help".`);
  return v as T;
}

export function positive(p: Parsed, name: string, fallback?: number): number | undefined {
  const v = p[name] as number | undefined;
  if (v === undefined) return fallback;
  if (!(v > 0)) throw new QloraError('ARGUMENT_INVALID', `--${name} must be positive; got ${v}`);
  return v;
}

export function nonNegative(p: Parsed, name: string, fallback: number): number {
  const v = (p[name] as number | undefined) ?? fallback;
  if (!(v >= 0)) throw new QloraError('ARGUMENT_INVALID', `--${name} must be ≥ 0; got ${v}`);
  return v;
}
