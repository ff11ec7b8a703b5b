// BLEU and ROUGE-1/2/L/Lsum on examples small enough to count by hand (the counts are in the
// comments), plus the 13a tokenizer's rules one by one. eval-rouge-oracle.test.ts checks ROUGE
// against rouge-score itself where the package installs.
import { describe, it, expect } from 'vitest';
import { computeBleu, corpusBleu, sentenceBleu, tokenize13a } from '../src/eval/bleu';
import { lcsIndices, lcsLength, meanRouge, meanRougeL, rougeL, rougeLsum, rougeN, rougeScores, rougeTokenize } from '../src/eval/rouge';

describe('tokenize13a', () => {
  it('splits punctuation off words, keeps apostrophes and inner hyphens', () => {
    expect(tokenize13a('Hello, world!')).toEqual(['Hello', ',', 'world', '!']);
    expect(tokenize13a("don't stop well-known (x)")).toEqual(["don't", 'stop', 'well-known', '(', 'x', ')']);
  });

  it('keeps numbers whole, splits a dash after a digit, unescapes entities', () => {
    // "$" always splits; "." and "," stay inside 3.50 / 1,000; the final "." and "," split.
    expect(tokenize13a('It costs $3.50, or 1,000.')).toEqual(['It', 'costs', '$', '3.50', ',', 'or', '1,000', '.']);
    expect(tokenize13a('pages 1-2')).toEqual(['pages', '1', '-', '2']);
    expect(tokenize13a('a &amp; b &lt;c&gt;')).toEqual(['a', '&', 'b', '<', 'c', '>']);
    expect(tokenize13a('  spaced \n out  ')).toEqual(['spaced', 'out']);
  });
});

describe('BLEU', () => {
  it('identical text scores 100', () => {
    expect(corpusBleu(['the cat sat on the mat'], ['the cat sat on the mat']).score).toBeCloseTo(100, 10);
    expect(sentenceBleu('Hello, world!', 'Hello, world!').score).toBeCloseTo(100, 10);
  });

  it('modified precisions with clipping', () => {
    // hyp: the cat sat on the mat / ref: the cat sat on a mat (both 6 tokens, BP = 1)
    //   1-grams: the×2 (clipped to 1), cat, sat, on, mat → 5/6
    //   2-grams: the cat, cat sat, sat on ✓; on the, the mat ✗ → 3/5
    //   3-grams: the cat sat, cat sat on ✓; sat on the, on the mat ✗ → 2/4
    //   4-grams: the cat sat on ✓; cat sat on the, sat on the mat ✗ → 1/3
    //   BLEU = 100 · (5/6 · 3/5 · 2/4 · 1/3)^(1/4) = 100 · (1/12)^(1/4)
    const s = corpusBleu(['the cat sat on the mat'], ['the cat sat on a mat']);
    expect(s.counts).toEqual([5, 3, 2, 1]);
    expect(s.totals).toEqual([6, 5, 4, 3]);
    expect(s.bp).toBe(1);
    expect(s.score).toBeCloseTo(100 * (1 / 12) ** 0.25, 10); // 53.7285
  });

  it('brevity penalty exp(1 − r/c)', () => {
    // hyp: the cat sat on (4 tokens, every n-gram matches) / ref: 6 tokens → BP = exp(1 − 6/4)
    const s = corpusBleu(['the cat sat on'], ['the cat sat on the mat']);
    expect(s.bp).toBeCloseTo(Math.exp(-0.5), 12);
    expect(s.score).toBeCloseTo(100 * Math.exp(-0.5), 10); // 60.6531
  });

  it("an order with no match: sacrebleu's default 'exp' smoothing, or 0 unsmoothed", () => {
    // hyp: the cat on the mat (5) / ref: the cat sat on the mat (6)
    //   1-grams 5/5; 2-grams: the cat, on the, the mat ✓, cat on ✗ → 3/4;
    //   3-grams: on the mat ✓ → 1/3; 4-grams: 0/2 → exp smoothing: 1 / (2 · 2) = 1/4
    //   BLEU = exp(1 − 6/5) · 100 · (1 · 3/4 · 1/3 · 1/4)^(1/4) = exp(−0.2) · 100 · (1/16)^(1/4) = 50 · exp(−0.2)
    const s = corpusBleu(['the cat on the mat'], ['the cat sat on the mat']);
    expect(s.counts).toEqual([5, 3, 1, 0]);
    expect(s.precisions[3]).toBeCloseTo(25, 12);
    expect(s.score).toBeCloseTo(50 * Math.exp(-0.2), 10); // 40.9365
    expect(corpusBleu(['the cat on the mat'], ['the cat sat on the mat'], { smooth: 'none' }).score).toBe(0);
  });

  it('sentence BLEU uses the effective order; corpus BLEU does not', () => {
    // hyp = ref = "hello world": 1-grams 2/2, 2-grams 1/1, no 3- or 4-grams at all.
    expect(sentenceBleu('hello world', 'hello world').score).toBeCloseTo(100, 10); // mean over 2 orders
    expect(corpusBleu(['hello world'], ['hello world']).score).toBe(0); // precisions 3, 4 are log(0)
  });

  it('corpus BLEU pools the counts instead of averaging sentence scores', () => {
    // Segment 1 as in the clipping test (5,3,2,1 of 6,5,4,3); segment 2 identical, 4 tokens (4,3,2,1 of 4,3,2,1).
    // Pooled: 9/10 · 6/8 · 4/6 · 2/4, lengths 10 vs 10.
    const s = corpusBleu(['the cat sat on the mat', 'a b c d'], ['the cat sat on a mat', 'a b c d']);
    expect(s.counts).toEqual([9, 6, 4, 2]);
    expect(s.totals).toEqual([10, 8, 6, 4]);
    expect(s.score).toBeCloseTo(100 * ((9 / 10) * (6 / 8) * (4 / 6) * (2 / 4)) ** 0.25, 10);
  });

  it('several references: clipping by the best reference, the closest length (shorter on ties)', () => {
    // hyp: the the the (3). refs: "the the x y z" (5, two "the"), "the" (1). Closest length: |3−5| = |3−1| = 2 → 1.
    // 1-grams: "the" clipped to 2 → 2/3; 2-grams: "the the" ×2 vs max 1 → 1/2; 3-grams: 0/1, 'exp' → 1/(2·1).
    // No 4-grams: total 0 stops the loop, precision 4 stays 0 → score 0 without the effective order.
    const s = corpusBleu(['the the the'], [['the the x y z', 'the']]);
    expect(s.refLen).toBe(1);
    expect(s.counts).toEqual([2, 1, 0, 0]);
    expect(s.bp).toBe(1);
    expect(s.score).toBe(0);
    // With the effective order: (2/3 · 1/2 · 1/2)^(1/3) = (1/6)^(1/3)
    expect(sentenceBleu('the the the', ['the the x y z', 'the']).score).toBeCloseTo(100 * (1 / 6) ** (1 / 3), 10);
  });

  it('no match at all, or an empty hypothesis, scores 0', () => {
    expect(corpusBleu(['x y z w'], ['a b c d']).score).toBe(0);
    expect(corpusBleu([''], ['a b c d']).score).toBe(0);
    expect(computeBleu([0, 0, 0, 0], [0, 0, 0, 0], 0, 4).bp).toBe(0);
  });

  it('is case-sensitive unless asked', () => {
    expect(corpusBleu(['The Cat Sat On'], ['the cat sat on']).score).toBe(0);
    expect(corpusBleu(['The Cat Sat On'], ['the cat sat on'], { lowercase: true }).score).toBeCloseTo(100, 10);
  });
});

describe('ROUGE-L', () => {
  it('tokenizes as rouge-score: lowercase, non-alphanumerics are separators', () => {
    expect(rougeTokenize("Hello, WORLD! It's 3.5 café")).toEqual(['hello', 'world', 'it', 's', '3', '5', 'caf']);
  });

  it('identical text scores 1, case and punctuation aside', () => {
    expect(rougeL('The cat sat.', 'the cat sat').fmeasure).toBe(1);
  });

  it("Lin's examples: LCS 3 of 4 and 2 of 4", () => {
    // R: police killed the gunman. S2: police kill the gunman → LCS "police the gunman" = 3: P = R = F = 3/4.
    expect(rougeL('police killed the gunman', 'police kill the gunman')).toEqual({ precision: 0.75, recall: 0.75, fmeasure: 0.75 });
    // S3: the gunman kill police → LCS "the gunman" = 2: F = 1/2.
    expect(rougeL('police killed the gunman', 'the gunman kill police').fmeasure).toBe(0.5);
  });

  it('precision over the prediction, recall over the reference', () => {
    // ref a b c d e, pred a c e: LCS 3, P = 3/3, R = 3/5, F = 2·1·0.6 / 1.6 = 0.75
    const s = rougeL('a b c d e', 'a c e');
    expect(s.precision).toBe(1);
    expect(s.recall).toBeCloseTo(0.6, 15);
    expect(s.fmeasure).toBeCloseTo(0.75, 15);
    expect(lcsLength(['a', 'b', 'c', 'b', 'd', 'a', 'b'], ['b', 'd', 'c', 'a', 'b', 'a'])).toBe(4); // CLRS's example
  });

  it('empty sides score 0; the mean is over pairs', () => {
    expect(rougeL('', 'anything').fmeasure).toBe(0);
    expect(rougeL('...', '!!!').fmeasure).toBe(0);
    const m = meanRougeL(['a b c d e', 'same text'], ['a c e', 'same text']);
    expect(m.fmeasure).toBeCloseTo((0.75 + 1) / 2, 15);
    expect(m.precision).toBe(1);
  });
});

describe('ROUGE-N', () => {
  it('clipped unigram and bigram overlap', () => {
    // ref: the cat sat on the mat (6) / pred: the cat on the mat (5)
    //   1-grams: the min(2,2) + cat + on + mat = 5 → P = 5/5, R = 5/6, F = 10/11
    //   2-grams: ref {the cat, cat sat, sat on, on the, the mat}, pred {the cat, cat on, on the, the mat} → 3: P = 3/4, R = 3/5, F = 2/3
    const s = rougeScores('the cat sat on the mat', 'the cat on the mat');
    expect(s.rouge1.precision).toBe(1);
    expect(s.rouge1.recall).toBeCloseTo(5 / 6, 15);
    expect(s.rouge1.fmeasure).toBeCloseTo(10 / 11, 15);
    expect(s.rouge2.precision).toBe(0.75);
    expect(s.rouge2.recall).toBeCloseTo(0.6, 15);
    expect(s.rouge2.fmeasure).toBeCloseTo(2 / 3, 15);
    // a a b vs a a a: "a" counts min(2, 3) = 2 → P = R = 2/3
    expect(rougeN('a a b', 'a a a', 1).fmeasure).toBeCloseTo(2 / 3, 15);
  });

  it('a text shorter than n has no n-grams: 0, as the package (denominators at least 1)', () => {
    expect(rougeN('word', 'word', 2)).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    expect(rougeN('word', 'word', 1).fmeasure).toBe(1);
    expect(() => rougeN('a', 'a', 0)).toThrow(RangeError);
  });
});

describe('ROUGE-Lsum', () => {
  it("Lin's union LCS (section 3.2): r = w1..w5, c1 = w1 w2 w6 w7 w8, c2 = w1 w3 w8 w9 w5", () => {
    // LCS(r, c1) = w1 w2, LCS(r, c2) = w1 w3 w5 → union w1 w2 w3 w5 = 4 hits; |r| = 5, |c| = 10
    // P = 4/10, R = 4/5, F = 2 · 0.32 / 1.2 = 8/15
    const s = rougeLsum('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5');
    expect(s.precision).toBeCloseTo(0.4, 15);
    expect(s.recall).toBeCloseTo(0.8, 15);
    expect(s.fmeasure).toBeCloseTo(8 / 15, 15);
  });

  it('sentences are lines: reordered sentences score 1 where ROUGE-L scores 1/2', () => {
    // ref "a b" / "c d", pred one line "c d a b": ROUGE-L's LCS is 2 of 4; each ref line is found whole.
    const s = rougeScores('a b\nc d', 'c d a b');
    expect(s.rougeL.fmeasure).toBe(0.5);
    expect(s.rougeLsum).toEqual({ precision: 1, recall: 1, fmeasure: 1 });
    // Without newlines Lsum is ROUGE-L; a period does not split (the package's default, split_summaries=False).
    expect(rougeLsum('a b. c d.', 'c d. a b.')).toEqual(rougeL('a b. c d.', 'c d. a b.'));
    // Empty lines are dropped, "\r" is a separator like any punctuation.
    expect(rougeLsum('a b\r\n\n\nc d', 'c d\na b').fmeasure).toBe(1);
  });

  it('a token is counted once per copy on each side', () => {
    // ref lines "a", "a" (m = 2), pred "a" (n = 1): the second line's "a" finds no unused prediction copy.
    // hits = 1: P = 1, R = 1/2, F = 2/3 (without the guard P would be 2).
    const s = rougeLsum('a\na', 'a');
    expect(s.precision).toBe(1);
    expect(s.recall).toBe(0.5);
    expect(s.fmeasure).toBeCloseTo(2 / 3, 15);
  });

  it("ties between LCSs break as the package's backtrack does", () => {
    // LCS("a b", "b a") has length 1; the backtrack steps up in ref on a tie, so it reads out "a" (index 0).
    expect(lcsIndices(['a', 'b'], ['b', 'a'])).toEqual([0]);
    expect(lcsIndices(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual([0, 2]);
    // ref "a b"; pred lines "b a" and "a": both LCSs pick index 0 → union {a}, 1 hit of m = 2, n = 3.
    // (Reading out "b" for the first would give 2 hits.) P = 1/3, R = 1/2, F = 0.4
    const s = rougeLsum('a b', 'b a\na');
    expect(s.precision).toBeCloseTo(1 / 3, 15);
    expect(s.recall).toBe(0.5);
    expect(s.fmeasure).toBeCloseTo(0.4, 15);
  });

  it('no tokens on either side scores 0', () => {
    expect(rougeLsum('...\n!!!', 'a')).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    expect(rougeLsum('', '')).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
  });

  it('the corpus mean is over pairs, per type', () => {
    const m = meanRouge(['a b\nc d', 'same text'], ['c d a b', 'same text']);
    expect(m.rougeL.fmeasure).toBeCloseTo((0.5 + 1) / 2, 15);
    expect(m.rougeLsum.fmeasure).toBe(1);
    expect(m.rouge1.fmeasure).toBe(1);
    expect(m.rouge2.fmeasure).toBeCloseTo((2 / 3 + 1) / 2, 15); // ROUGE-2 ignores lines: {a b, b c, c d} vs {c d, d a, a b} → 2 of 3
    expect(() => meanRouge(['a'], [])).toThrow(RangeError);
  });
});
