// ROUGE-1/2/L/Lsum against Google's `rouge-score` itself (the package HF `evaluate` wraps), run in
// the test's own venv (test/helpers/python-env.ts). Where the package cannot be installed (no
// Python, no index) the test is skipped and says why; the hand-checked cases in
// eval-metrics.test.ts still run.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ROUGE_TYPES, rougeScores } from '../src/eval/rouge';
import { pythonWith, reportSkip } from './helpers/python-env';

const env = pythonWith([{ pip: 'rouge-score', module: 'rouge_score' }]);
reportSkip('the rouge-score cross-check', env);

const ORACLE = [
  'import json, sys',
  'from rouge_score import rouge_scorer',
  "s = rouge_scorer.RougeScorer(['rouge1', 'rouge2', 'rougeL', 'rougeLsum'], use_stemmer=False)",
  'out = []',
  'for ref, pred in json.load(sys.stdin):',
  '    r = s.score(ref, pred)',
  '    out.append({k: [v.precision, v.recall, v.fmeasure] for k, v in r.items()})',
  'print(json.dumps(out))',
].join('\n');

/** A deterministic mix of words, punctuation, newlines and non-ASCII letters (separators to the tokenizer). */
function randomPairs(count: number): [string, string][] {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'The', 'Cat.', '\n', '\n\n', '!!', 'café', '3.5', "it's"];
  const text = () => Array.from({ length: Math.floor(next() * 16) }, () => words[Math.floor(next() * words.length)]).join(next() < 0.7 ? ' ' : '');
  return Array.from({ length: count }, () => [text(), text()]);
}

const FIXED: [string, string][] = [
  ['the cat sat on the mat', 'the cat on the mat'],
  ['a b\nc d', 'c d a b'],
  ['a b', 'b a\na'],
  ['a\na', 'a'],
  ['Police killed the gunman.\nThe gunman was armed.', 'The gunman killed police.\nPolice were armed.'],
  ['', 'anything'],
  ['...\n!!!', 'a'],
];

describe('ROUGE vs rouge-score', () => {
  it.skipIf(!!env.skip)('every pair, every type: precision, recall and F to 1e-12', () => {
    const pairs = [...FIXED, ...randomPairs(400)];
    const want = JSON.parse(execFileSync(env.python!, ['-c', ORACLE], { input: JSON.stringify(pairs), encoding: 'utf8', maxBuffer: 1 << 28 })) as Record<string, number[]>[];
    pairs.forEach(([ref, pred], i) => {
      const got = rougeScores(ref, pred);
      for (const type of ROUGE_TYPES) {
        const g = got[type];
        expect([g.precision, g.recall, g.fmeasure], `${type} of ${JSON.stringify(ref)} vs ${JSON.stringify(pred)}`).toEqual(want[i][type].map((v) => expect.closeTo(v, 12)));
      }
    });
  });
});
