// A short fingerprint of the examples a run trains and validates on: a resume refuses data that is not
// the data the checkpoint was trained on (another file, limit, max length, split or tokenizer), since
// the saved data position would then point at other batches and "bit for bit" would silently not hold.
import type { TrainingExample } from './examples';

/** FNV-1a (32-bit) over the token ids and labels of both splits, with their sizes; 8 hex digits. */
export function examplesFingerprint(train: readonly TrainingExample[], val: readonly TrainingExample[]): string {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h ^= v & 0xffff;
    h = Math.imul(h, 0x01000193);
    h ^= v >>> 16;
    h = Math.imul(h, 0x01000193);
  };
  for (const split of [train, val]) {
    mix(split.length);
    for (const e of split) {
      mix(e.inputIds.length);
      for (const id of e.inputIds) mix(id);
      for (const l of e.labels) mix(l);
    }
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
