// `target_modules` given as a regex (PEFT: `re.fullmatch(target_modules, module_name)`), matched in
// linear time. JavaScript's RegExp backtracks, so a hostile adapter_config.json ("(.*)*X") would
// freeze the tab or the CLI; instead the pattern is parsed here into a Thompson NFA and simulated
// state-set by state-set: O(pattern states × name length), whatever the pattern. Supported is the
// subset people write for module names: literals, `.`, classes `[a-z_]` / `[^…]`, `\d \w \s` (and
// their negations), escaped punctuation, groups `(…)` `(?:…)` `(?P<name>…)`, `|`, `* + ?` (lazy or
// not: for match/no-match they agree), `{m}` `{m,}` `{m,n}` (n ≤ 100), and `^`/`$`. Anything else
// (back references, look-arounds, flags) is refused with CONFIG_INVALID rather than guessed.
import { QloraError } from '../errors';

const MAX_PATTERN_CHARS = 2000; // far beyond any real module regex
const MAX_REPEAT = 100; // {m,n} bound: copies of the body are states
const MAX_STATES = 20000; // keeps a match at most 20k × name length steps

type CharTest = (c: string) => boolean;
type Node =
  | { kind: 'char'; test: CharTest }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'repeat'; body: Node; min: number; max: number }
  | { kind: 'start' }
  | { kind: 'end' };

type State =
  | { kind: 'char'; test: CharTest; out: number }
  | { kind: 'split'; outs: number[] }
  | { kind: 'start'; out: number }
  | { kind: 'end'; out: number }
  | { kind: 'match' };

const isDigit: CharTest = (c) => c >= '0' && c <= '9';
const isWord: CharTest = (c) => isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isSpace: CharTest = (c) => ' \t\n\r\f\v'.includes(c);

class Parser {
  private i = 0;
  constructor(private readonly src: string, private readonly fail: (why: string) => never) {}

  parse(): Node {
    const node = this.alternation();
    if (this.i < this.src.length) this.fail(`unbalanced ")" at position ${this.i}`);
    return node;
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.peek() === '|') {
      this.i++;
      options.push(this.sequence());
    }
    return options.length === 1 ? options[0] : { kind: 'alt', options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) items.push(this.quantified());
    return { kind: 'seq', items };
  }

  private quantified(): Node {
    const atom = this.atom();
    let node = atom;
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.i))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i))!;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT) || max < min) this.fail(`repeat ${m[0]} is outside {0..${MAX_REPEAT}}`);
        this.i += m[0].length - 1;
      } else return node;
      if (atom.kind === 'start' || atom.kind === 'end') this.fail('a quantifier on an anchor');
      this.i++;
      if (this.peek() === '?') this.i++; // lazy: same language
      else if (this.peek() === '+') this.fail('possessive quantifiers');
      node = { kind: 'repeat', body: node, min, max };
    }
  }

  private atom(): Node {
    const c = this.src[this.i++];
    switch (c) {
      case '(': {
        if (this.peek() === '?') {
          const rest = this.src.slice(this.i);
          const named = /^\?P<[A-Za-z_]\w*>/.exec(rest);
          if (rest.startsWith('?:')) this.i += 2;
          else if (named) this.i += named[0].length;
          else this.fail(`the group "(${rest.slice(0, 3)}" (look-arounds, flags and back references are not supported)`);
        }
        const inner = this.alternation();
        if (this.src[this.i++] !== ')') this.fail('a "(" without its ")"');
        return inner;
      }
      case '[':
        return { kind: 'char', test: this.charClass() };
      case '.':
        return { kind: 'char', test: (x) => x !== '\n' };
      case '^':
        return { kind: 'start' };
      case '$':
        return { kind: 'end' };
      case '\\':
        return { kind: 'char', test: this.escape(false) };
      case '*':
      case '+':
      case '?':
        return this.fail(`nothing to repeat at position ${this.i - 1}`);
      case '{':
      case '}':
      case ']':
      default:
        return { kind: 'char', test: (x) => x === c };
    }
  }

  /** After a backslash; in a class `\b` is a backspace in Python, outside it a word boundary (refused). */
  private escape(inClass: boolean): CharTest {
    const e = this.src[this.i++];
    if (e === undefined) this.fail('a trailing backslash');
    const classes: Record<string, CharTest> = {
      d: isDigit, D: (x) => !isDigit(x), w: isWord, W: (x) => !isWord(x), s: isSpace, S: (x) => !isSpace(x),
    };
    if (classes[e]) return classes[e];
    const controls: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v' };
    if (controls[e]) return (x) => x === controls[e];
    if (/[A-Za-z0-9]/.test(e) && !(inClass && e === 'b')) this.fail(`the escape "\\${e}"`);
    const lit = inClass && e === 'b' ? '\b' : e;
    return (x) => x === lit;
  }

  private charClass(): CharTest {
    const negate = this.peek() === '^';
    if (negate) this.i++;
    const parts: CharTest[] = [];
    let first = true;
    for (;;) {
      const c = this.src[this.i++];
      if (c === undefined) this.fail('a "[" without its "]"');
      if (c === ']' && !first) break;
      first = false;
      let lo: string | null = c;
      if (c === '\\') {
        const t = this.escape(true);
        const e = this.src[this.i - 1];
        if ('dDwWsS'.includes(e)) {
          parts.push(t);
          continue;
        }
        lo = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', b: '\b' }[e] ?? e;
      }
      if (this.peek() === '-' && this.src[this.i + 1] !== undefined && this.src[this.i + 1] !== ']') {
        this.i++;
        let hi = this.src[this.i++];
        if (hi === '\\') {
          this.escape(true);
          const e = this.src[this.i - 1];
          if ('dDwWsS'.includes(e)) this.fail('a range ending in a class escape');
          hi = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', b: '\b' }[e] ?? e;
        }
        if (hi < lo) this.fail(`the bad range "${lo}-${hi}"`);
        const [a, b] = [lo, hi];
        parts.push((x) => x >= a && x <= b);
      } else {
        const a = lo;
        parts.push((x) => x === a);
      }
    }
    return negate ? (x) => !parts.some((p) => p(x)) : (x) => parts.some((p) => p(x));
  }
}

/** A compiled pattern: `fullMatch(name)` is Python's `re.fullmatch(pattern, name) is not None`. */
export interface ModulePattern {
  fullMatch(name: string): boolean;
}

export function compileModulePattern(pattern: string, source: string): ModulePattern {
  const fail = (why: string): never => {
    throw new QloraError('CONFIG_INVALID', `${source}: target_modules regex "${pattern.slice(0, 200)}" uses ${why}. Give target_modules as a list of module names (e.g. ["q_proj", "v_proj"]) or a plain regex of literals, classes, groups, "|" and "*+?{m,n}".`);
  };
  if (pattern.length > MAX_PATTERN_CHARS) fail(`${pattern.length} characters (at most ${MAX_PATTERN_CHARS})`);
  const ast = new Parser(pattern, fail).parse();
  const states: State[] = [];
  const add = (s: State): number => {
    if (states.length >= MAX_STATES) fail(`more than ${MAX_STATES} NFA states once its repeats are expanded`);
    states.push(s);
    return states.length - 1;
  };
  // Continuation-passing Thompson construction: build(node, next) returns the state that matches
  // `node` and then continues at `next`. Repeats copy their body (bounded by MAX_STATES).
  const build = (node: Node, next: number): number => {
    switch (node.kind) {
      case 'char':
        return add({ kind: 'char', test: node.test, out: next });
      case 'start':
        return add({ kind: 'start', out: next });
      case 'end':
        return add({ kind: 'end', out: next });
      case 'seq':
        return node.items.reduceRight((acc, item) => build(item, acc), next);
      case 'alt':
        return add({ kind: 'split', outs: node.options.map((o) => build(o, next)) });
      case 'repeat': {
        let r = next;
        if (node.max === Infinity) {
          const loop = add({ kind: 'split', outs: [] });
          (states[loop] as { outs: number[] }).outs = [build(node.body, loop), next];
          r = loop;
        } else {
          for (let k = node.min; k < node.max; k++) r = add({ kind: 'split', outs: [build(node.body, r), next] });
        }
        for (let k = 0; k < node.min; k++) r = build(node.body, r);
        return r;
      }
    }
  };
  const match = add({ kind: 'match' });
  const start = build(ast, match);

  return {
    fullMatch(name: string): boolean {
      const seen = new Int32Array(states.length).fill(-1);
      // Epsilon closure of `from` at position `pos` into `into` (the char states and the match).
      const close = (from: number[], pos: number, into: number[], mark: number) => {
        const stack = [...from];
        while (stack.length) {
          const s = stack.pop()!;
          if (seen[s] === mark) continue;
          seen[s] = mark;
          const st = states[s];
          if (st.kind === 'split') for (let k = st.outs.length - 1; k >= 0; k--) stack.push(st.outs[k]);
          else if (st.kind === 'start') { if (pos === 0) stack.push(st.out); }
          else if (st.kind === 'end') { if (pos === name.length) stack.push(st.out); }
          else into.push(s);
        }
      };
      let current: number[] = [];
      close([start], 0, current, 0);
      for (let pos = 0; pos < name.length && current.length; pos++) {
        const c = name[pos];
        const next: number[] = [];
        for (const s of current) {
          const st = states[s];
          if (st.kind === 'char' && st.test(c)) next.push(st.out);
        }
        current = [];
        close(next, pos + 1, current, pos + 1);
      }
      return current.some((s) => states[s].kind === 'match');
    },
  };
}
