// The train / validation split of a dataset's examples, the same for the page and the CLI: a seeded
// draw, so the same seed holds out the same examples on every host and after a resume.
import { createRng, shuffledIndices } from './rng';

/** RunSettings.valMax's default (src/engine/run-settings.ts says why 200). */
export const DEFAULT_VAL_MAX = 200;

/**
 * Deterministic train / validation split of example indices (by seed); none held out below 10 examples.
 * The validation set is `valSplit` of the examples but at most `valMax` (every evaluation runs each of
 * them: 10 % of a million records was 100,000 forward passes); the examples past the cap train.
 * `valWanted` is what `valSplit` alone would hold out, so the page and the CLI can say it was capped.
 */
export function splitExamples<T>(examples: readonly T[], valSplit: number, seed: number, valMax: number = DEFAULT_VAL_MAX): { train: T[]; val: T[]; valWanted: number } {
  const valWanted = examples.length >= 10 ? Math.floor(examples.length * valSplit) : 0;
  const nVal = Math.min(valWanted, valMax);
  if (nVal === 0) return { train: [...examples], val: [], valWanted };
  const order = shuffledIndices(examples.length, createRng(seed ^ 0x5eed));
  const valSet = new Set(order.slice(0, nVal));
  return { train: examples.filter((_, i) => !valSet.has(i)), val: examples.filter((_, i) => valSet.has(i)), valWanted };
}
