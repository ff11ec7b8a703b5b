// ROUGE (Lin, 2004, "ROUGE: A Package for Automatic Evaluation of Summaries") as Google's
// `rouge-score` package computes it (rouge_scorer.RougeScorer, use_stemmer=False,
// split_summaries=False), the implementation Hugging Face `evaluate`'s "rouge" wraps; its default set
// is ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum, so those are the four computed here:
//   - tokens: lowercase, every run of characters outside [a-z0-9] becomes a space, split; so accented
//     and non-Latin letters are separators, as in the package;
//   - ROUGE-N (section 2): clipped n-gram overlap Σ min(count_ref, count_pred); precision over the
//     prediction's n-grams, recall over the reference's (each denominator at least 1, as the package);
//   - ROUGE-L (section 3.1): LCS over the whole token sequences;
//   - ROUGE-Lsum (section 3.2, summary-level LCS): sentences are the text's lines ("\n" only, empty
//     lines dropped — the package's default; it does not split on periods), each reference sentence
//     takes the union of its LCS with every prediction sentence, and a token is a hit only while both
//     sides still have an unused copy of it (ROUGE-1.5.5's guard against double counting). Which LCS
//     the union takes matters, so the backtrack breaks ties exactly as the package's does;
//   - F = 2PR / (P + R) (β = 1), and 0 when either side has no tokens.
// Scores are 0..1, as the package reports them (multiply by 100 for the usual table figure). The
// corpus figure is the plain mean of the per-pair scores (the mean of what `evaluate` returns with
// use_aggregator=False; the package's BootstrapAggregator `mid` is the median of resampled means,
// which is close to this mean but not equal to it).

export interface RougeLScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

/** One pair's scores under each name `evaluate` uses. */
export interface RougeScores {
  readonly rouge1: RougeLScore;
  readonly rouge2: RougeLScore;
  readonly rougeL: RougeLScore;
  readonly rougeLsum: RougeLScore;
}

export const ROUGE_TYPES = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const satisfies readonly (keyof RougeScores)[];

const ZERO: RougeLScore = { precision: 0, recall: 0, fmeasure: 0 };

/** rouge-score's default tokenizer (no stemmer). */
export function rougeTokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .filter((t) => /^[a-z0-9]+$/.test(t));
}

function score(hits: number, predictionCount: number, referenceCount: number): RougeLScore {
  const precision = hits / predictionCount;
  const recall = hits / referenceCount;
  const fmeasure = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, fmeasure };
}

/** Length of the longest common subsequence, with one row of the DP table at a time. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Uint32Array(b.length + 1);
  let row = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      row[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], row[j - 1]);
    }
    [prev, row] = [row, prev];
  }
  return prev[b.length];
}

/**
 * Indices into `ref` of one LCS of ref and can, the one rouge-score's `_backtrack_norec` reads out:
 * from the end, take a match, else step left in `can` only when that keeps a strictly longer LCS.
 */
export function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const cols = can.length + 1;
  const table = new Uint32Array((ref.length + 1) * cols); // (|ref|+1, |can|+1), row-major
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      table[i * cols + j] = ref[i - 1] === can[j - 1]
        ? table[(i - 1) * cols + j - 1] + 1
        : Math.max(table[(i - 1) * cols + j], table[i * cols + j - 1]);
    }
  }
  const out: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (table[i * cols + j - 1] > table[(i - 1) * cols + j]) {
      j--;
    } else {
      i--;
    }
  }
  return out.reverse();
}

/** Counts of each n-gram; tokens hold no spaces, so a space-joined key is unambiguous. */
function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function rougeNTokens(ref: readonly string[], pred: readonly string[], n: number): RougeLScore {
  const refCounts = ngramCounts(ref, n);
  const predCounts = ngramCounts(pred, n);
  let hits = 0;
  for (const [g, c] of refCounts) hits += Math.min(c, predCounts.get(g) ?? 0);
  const refTotal = Math.max(ref.length - n + 1, 0);
  const predTotal = Math.max(pred.length - n + 1, 0);
  return score(hits, Math.max(predTotal, 1), Math.max(refTotal, 1));
}

function rougeLTokens(ref: readonly string[], pred: readonly string[]): RougeLScore {
  if (ref.length === 0 || pred.length === 0) return ZERO;
  return score(lcsLength(ref, pred), pred.length, ref.length);
}

/** The package's sentence split for Lsum: lines, empty ones dropped (a line of punctuation stays, with no tokens). */
function lsumSentences(text: string): string[][] {
  return text.split('\n').filter((s) => s.length > 0).map(rougeTokenize);
}

function bagOf(sentences: readonly (readonly string[])[]): Map<string, number> {
  const bag = new Map<string, number>();
  for (const s of sentences) for (const t of s) bag.set(t, (bag.get(t) ?? 0) + 1);
  return bag;
}

function rougeLsumSentences(ref: readonly (readonly string[])[], pred: readonly (readonly string[])[]): RougeLScore {
  const m = ref.reduce((a, s) => a + s.length, 0);
  const n = pred.reduce((a, s) => a + s.length, 0);
  if (m === 0 || n === 0) return ZERO;
  const refLeft = bagOf(ref);
  const predLeft = bagOf(pred);
  let hits = 0;
  for (const r of ref) {
    const union = new Set<number>();
    for (const c of pred) for (const i of lcsIndices(r, c)) union.add(i);
    for (const i of [...union].sort((a, b) => a - b)) {
      const t = r[i];
      if ((predLeft.get(t) ?? 0) > 0 && (refLeft.get(t) ?? 0) > 0) {
        hits++;
        predLeft.set(t, predLeft.get(t)! - 1);
        refLeft.set(t, refLeft.get(t)! - 1);
      }
    }
  }
  return score(hits, n, m);
}

/** ROUGE-N of one prediction against its reference (argument order as rouge-score: target first). */
export function rougeN(reference: string, prediction: string, n: number): RougeLScore {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`rougeN: n must be a positive integer, got ${n}`);
  return rougeNTokens(rougeTokenize(reference), rougeTokenize(prediction), n);
}

/** ROUGE-L of one prediction against its reference (argument order as rouge-score: target first). */
export function rougeL(reference: string, prediction: string): RougeLScore {
  return rougeLTokens(rougeTokenize(reference), rougeTokenize(prediction));
}

/** Summary-level ROUGE-L over newline-separated sentences. */
export function rougeLsum(reference: string, prediction: string): RougeLScore {
  return rougeLsumSentences(lsumSentences(reference), lsumSentences(prediction));
}

/** All four scores of one pair, tokenizing each side once. */
export function rougeScores(reference: string, prediction: string): RougeScores {
  const ref = rougeTokenize(reference);
  const pred = rougeTokenize(prediction);
  return {
    rouge1: rougeNTokens(ref, pred, 1),
    rouge2: rougeNTokens(ref, pred, 2),
    rougeL: rougeLTokens(ref, pred),
    rougeLsum: rougeLsum(reference, prediction),
  };
}

function checkPairs(what: string, references: readonly string[], predictions: readonly string[]): void {
  if (references.length !== predictions.length) {
    throw new RangeError(`${what}: ${references.length} references but ${predictions.length} predictions`);
  }
}

function meanOf(scores: readonly RougeLScore[]): RougeLScore {
  const n = scores.length;
  if (n === 0) return ZERO;
  let p = 0;
  let r = 0;
  let f = 0;
  for (const s of scores) {
    p += s.precision;
    r += s.recall;
    f += s.fmeasure;
  }
  return { precision: p / n, recall: r / n, fmeasure: f / n };
}

/** Mean ROUGE-L precision, recall and F over pairs (0 for no pairs). */
export function meanRougeL(references: readonly string[], predictions: readonly string[]): RougeLScore {
  checkPairs('meanRougeL', references, predictions);
  return meanOf(references.map((ref, i) => rougeL(ref, predictions[i])));
}

/** Mean of each of the four scores over pairs (0 for no pairs). */
export function meanRouge(references: readonly string[], predictions: readonly string[]): RougeScores {
  checkPairs('meanRouge', references, predictions);
  const pairs = references.map((ref, i) => rougeScores(ref, predictions[i]));
  return {
    rouge1: meanOf(pairs.map((s) => s.rouge1)),
    rouge2: meanOf(pairs.map((s) => s.rouge2)),
    rougeL: meanOf(pairs.map((s) => s.rougeL)),
    rougeLsum: meanOf(pairs.map((s) => s.rougeLsum)),
  };
}
