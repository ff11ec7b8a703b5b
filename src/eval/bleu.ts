// BLEU (Papineni et al., 2002, "BLEU: a Method for Automatic Evaluation of Machine Translation") as
// sacrebleu computes it (Post, 2018, "A Call for Clarity in Reporting BLEU Scores"; sacrebleu 2.x,
// metrics/bleu.py), so a score shown here is the number a person gets from `sacrebleu` on the same
// text:
//   - tokenization '13a' (mteval-v13a.pl): the exact regular expressions of sacrebleu's
//     tokenizer_13a.py + tokenizer_re.py, then whitespace split; case kept (lowercase=False);
//   - modified n-gram precisions for n = 1..4, clipped by the maximum count over the references;
//   - brevity penalty exp(1 − r/c) with r the closest reference length (ties: the shorter);
//   - the geometric mean in log space, a zero precision counting as log = −9999999999 (so BLEU = 0).
// Smoothing follows sacrebleu's defaults: corpus_bleu and sentence_bleu both default to 'exp'
// (mteval's NIST smoothing: the k-th order with no match counts as 1 / (2^k · total)), which changes
// a corpus score only when some order has no match at all; sentence_bleu also uses the effective
// order (orders the hypothesis is too short for are left out of the mean). `smooth: 'none'` gives
// the unsmoothed BLEU of the paper. Scores are 0..100.

export type BleuSmoothing = 'none' | 'exp' | 'floor' | 'add-k';

export interface BleuOptions {
  /** sacrebleu's smooth_method; 'exp' by default, as corpus_bleu and sentence_bleu. */
  readonly smooth?: BleuSmoothing;
  /** The value for 'floor' (default 0.1) and 'add-k' (default 1), as sacrebleu's SMOOTH_DEFAULTS. */
  readonly smoothValue?: number;
  /** Stop the mean at the highest order the hypotheses have n-grams of (sentence-level BLEU). */
  readonly effectiveOrder?: boolean;
  readonly lowercase?: boolean;
  readonly maxOrder?: number;
}

export interface BleuScore {
  readonly score: number; // 0..100
  readonly precisions: number[]; // 0..100 per order, after smoothing
  readonly counts: number[]; // matched n-grams per order
  readonly totals: number[]; // hypothesis n-grams per order
  readonly bp: number;
  readonly sysLen: number;
  readonly refLen: number;
}

const MAX_ORDER = 4;

// The mteval-v13a rules in sacrebleu's order. The first class is every ASCII symbol except ' , - .
// (those need context): the period and comma split unless a digit is on both sides, a dash only
// after a digit, and the apostrophe never ("don't" stays one token).
const RULES_13A: [RegExp, string][] = [
  [/([{-~[-` -&(-+:-@\/])/g, ' $1 '],
  [/([^0-9])([.,])/g, '$1 $2 '],
  [/([.,])([^0-9])/g, ' $1 $2'],
  [/([0-9])(-)/g, '$1 $2 '],
];

/** sacrebleu's '13a' tokenizer (applied after rstrip), returning the tokens. */
export function tokenize13a(text: string): string[] {
  let line = text.trimEnd();
  line = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  line = line.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  line = ` ${line} `;
  for (const [re, repl] of RULES_13A) line = line.replace(re, repl);
  return line.split(/\s+/).filter((t) => t.length > 0);
}

/** Counts of each order's n-grams; tokens hold no whitespace, so a space-joined key is unambiguous. */
function ngramCounts(tokens: readonly string[], maxOrder: number): Map<string, number>[] {
  const byOrder: Map<string, number>[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const counts = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    byOrder.push(counts);
  }
  return byOrder;
}

function closestRefLen(hypLen: number, refLens: readonly number[]): number {
  let bestDiff = -1;
  let best = -1;
  for (const len of refLens) {
    const diff = Math.abs(hypLen - len);
    if (bestDiff === -1 || diff < bestDiff) {
      bestDiff = diff;
      best = len;
    } else if (diff === bestDiff && len < best) {
      best = len;
    }
  }
  return best;
}

/** Sufficient statistics of one segment: [sysLen, refLen, correct[maxOrder], total[maxOrder]]. */
function segmentStats(hyp: string, refs: readonly string[], maxOrder: number, lowercase: boolean): number[] {
  const prep = (s: string) => tokenize13a(lowercase ? s.toLowerCase() : s);
  // Clipping counts: the most times each n-gram occurs in any one reference.
  const refMax = Array.from({ length: maxOrder }, () => new Map<string, number>());
  const refLens: number[] = [];
  for (const ref of refs) {
    const tokens = prep(ref);
    refLens.push(tokens.length);
    ngramCounts(tokens, maxOrder).forEach((counts, n) => {
      for (const [g, c] of counts) refMax[n].set(g, Math.max(refMax[n].get(g) ?? 0, c));
    });
  }
  const hypTokens = prep(hyp);
  const correct = new Array<number>(maxOrder).fill(0);
  const total = new Array<number>(maxOrder).fill(0);
  ngramCounts(hypTokens, maxOrder).forEach((counts, n) => {
    for (const [g, c] of counts) {
      total[n] += c;
      correct[n] += Math.min(c, refMax[n].get(g) ?? 0);
    }
  });
  return [hypTokens.length, closestRefLen(hypTokens.length, refLens), ...correct, ...total];
}

const myLog = (x: number) => (x === 0 ? -9999999999 : Math.log(x));

/** sacrebleu's BLEU.compute_bleu from aggregated statistics. */
export function computeBleu(correctIn: readonly number[], totalIn: readonly number[], sysLen: number, refLen: number, opts: BleuOptions = {}): BleuScore {
  const smooth = opts.smooth ?? 'exp';
  const maxOrder = correctIn.length;
  const smoothValue = opts.smoothValue ?? (smooth === 'floor' ? 0.1 : 1);
  const correct = [...correctIn];
  const total = [...totalIn];
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = (score: number): BleuScore => ({ score, precisions, counts: correct, totals: total, bp, sysLen, refLen });
  if (!correct.some((c) => c > 0)) return result(0);

  let smoothMteval = 1;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (smooth === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (opts.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (smooth === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (smooth === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let n = 0; n < effOrder; n++) logSum += myLog(precisions[n]);
  return result(bp * Math.exp(logSum / effOrder));
}

function asRefs(refs: string | readonly string[]): readonly string[] {
  return typeof refs === 'string' ? [refs] : refs;
}

/**
 * Corpus BLEU: statistics summed over all segments, then one score (not a mean of sentence scores).
 * references[i] is the reference (or references) of hypotheses[i].
 */
export function corpusBleu(hypotheses: readonly string[], references: readonly (string | readonly string[])[], opts: BleuOptions = {}): BleuScore {
  if (hypotheses.length !== references.length) {
    throw new RangeError(`corpusBleu: ${hypotheses.length} hypotheses but ${references.length} references`);
  }
  const maxOrder = opts.maxOrder ?? MAX_ORDER;
  const sums = new Array<number>(2 + 2 * maxOrder).fill(0);
  hypotheses.forEach((hyp, i) => {
    segmentStats(hyp, asRefs(references[i]), maxOrder, !!opts.lowercase).forEach((v, j) => (sums[j] += v));
  });
  return computeBleu(sums.slice(2, 2 + maxOrder), sums.slice(2 + maxOrder), sums[0], sums[1], opts);
}

/** sacrebleu's sentence_bleu: 'exp' smoothing and the effective order unless told otherwise. */
export function sentenceBleu(hypothesis: string, references: string | readonly string[], opts: BleuOptions = {}): BleuScore {
  return corpusBleu([hypothesis], [references], { effectiveOrder: true, ...opts });
}
