// A small, strict option parser for the CLI: `--name value`, `--flag`, `--name=value`, and
// `--name [value]` for an option whose value may be left out. Unknown options and bad values are
// errors that name the option and what it accepts (an unknown one with the closest known name); the
// caller prefixes them with the command ("qlora train: …").
import { QloraError } from '../errors';

export interface OptionSpec {
  readonly type: 'string' | 'number' | 'int' | 'flag';
  readonly help: string;
  readonly choices?: readonly string[];
  /** A string option that may be given bare (`--resume`): it then reads as ''. Shown as `[VALUE]`. */
  readonly optionalValue?: string;
  /** Shown as the value's name in the help (default: the type or the choices). */
  readonly valueName?: string;
}

export type Parsed = Record<string, string | number | boolean | undefined>;

/** Edit distance (insertions, deletions, substitutions) between two option names. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** The known option closest to a mistyped one, when it is close enough to be what was meant. */
export function closestOption(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.startsWith(name) || name.startsWith(k) ? Math.min(1, distance(name, k)) : distance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

export function parseArgs(argv: string[], specs: Readonly<Record<string, OptionSpec>>, command: string): Parsed {
  const out: Parsed = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new QloraError('ARGUMENT_INVALID', `unexpected argument "${arg}". Run "qlora ${command} --help".`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const spec = specs[name];
    if (!spec) {
      const near = closestOption(name, Object.keys(specs));
      throw new QloraError('ARGUMENT_INVALID', `unknown option --${name}.${near ? ` Did you mean --${near}?` : ''} Run "qlora ${command} --help".`);
    }
    if (spec.type === 'flag') {
      if (value !== undefined) throw new QloraError('ARGUMENT_INVALID', `--${name} takes no value`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (spec.optionalValue !== undefined && (next === undefined || next.startsWith('--'))) {
        out[name] = '';
        continue;
      }
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

/** One line per option: the option and its value in a column as wide as the longest, then the help. */
export function usage(command: string, summary: string, specs: Readonly<Record<string, OptionSpec>>, notes = ''): string {
  const left = Object.entries(specs).map(([n, s]) => {
    if (s.type === 'flag') return `  --${n}`;
    const value = s.valueName ?? (s.choices ? s.choices.join('|') : s.type);
    return s.optionalValue !== undefined ? `  --${n} [${s.optionalValue}]` : `  --${n} <${value}>`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = Object.values(specs).map((s, i) => left[i].padEnd(width) + s.help);
  return `qlora ${command} — ${summary}\n\n${lines.join('\n')}\n${notes ? `\n${notes}` : ''}`;
}

export function requireOpt<T extends string | number>(p: Parsed, name: string, command: string): T {
  const v = p[name];
  if (v === undefined) throw new QloraError('ARGUMENT_INVALID', `--${name} is required. Run "qlora ${command} --help".`);
  return v as T;
}
