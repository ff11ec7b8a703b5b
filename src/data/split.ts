// The train / validation split of a dataset's examples, the same for the page and the CLI: a seeded
// draw, so the same seed holds out the same examples on every host and after a resume.
import { createRng, shuffledIndices } from './rng';

/** Deterministic train / validation split of example indices (by seed); none held out below 10 examples. */
export function splitExamples<T>(examples: readonly T[], valSplit: number, seed: number): { train: T[]; val: T[] } {
  const nVal = examples.length >= 10 ? Math.floor(examples.length * valSplit) : 0;
  if (nVal === 0) return { train: [...examples], val: [] };
  const order = shuffledIndices(examples.length, createRng(seed ^ 0x5eed));
  const valSet = new Set(order.slice(0, nVal));
  return { train: examples.filter((_, i) => !valSet.has(i)), val: examples.filter((_, i) => valSet.has(i)) };
}
