// ROUGE-L (Lin, 2004, "ROUGE: A Package for Automatic Evaluation of Summaries", section 3.1) as
// Google's `rouge-score` package computes it (rouge_scorer.RougeScorer(['rougeL']), use_stemmer=False),
// the implementation Hugging Face `evaluate` wraps:
//   - tokens: lowercase, every run of characters outside [a-z0-9] becomes a space, split; so accented
//     and non-Latin letters are separators, as in the package;
//   - LCS over the token sequences; precision = LCS / |prediction|, recall = LCS / |reference|,
//     F = 2PR / (P + R) (β = 1), and 0 when either side has no tokens.
// Scores are 0..1, as the package reports them (multiply by 100 for the usual table figure). The
// corpus figure is the plain mean of the per-pair scores (the mean of what `evaluate` returns with
// use_aggregator=False; the package's BootstrapAggregator `mid` is the median of resampled means,
// which is close to this mean but not equal to it).

export interface RougeLScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

/** rouge-score's default tokenizer (no stemmer). */
export function rougeTokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .filter((t) => /^[a-z0-9]+$/.test(t));
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

/** ROUGE-L of one prediction against its reference (argument order as rouge-score: target first). */
export function rougeL(reference: string, prediction: string): RougeLScore {
  const ref = rougeTokenize(reference);
  const pred = rougeTokenize(prediction);
  if (ref.length === 0 || pred.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(ref, pred);
  const precision = lcs / pred.length;
  const recall = lcs / ref.length;
  const fmeasure = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, fmeasure };
}

/** Mean ROUGE-L precision, recall and F over pairs (0 for no pairs). */
export function meanRougeL(references: readonly string[], predictions: readonly string[]): RougeLScore {
  if (references.length !== predictions.length) {
    throw new RangeError(`meanRougeL: ${references.length} references but ${predictions.length} predictions`);
  }
  const n = references.length;
  if (n === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  let p = 0;
  let r = 0;
  let f = 0;
  references.forEach((ref, i) => {
    const s = rougeL(ref, predictions[i]);
    p += s.precision;
    r += s.recall;
    f += s.fmeasure;
  });
  return { precision: p / n, recall: r / n, fmeasure: f / n };
}
