// Batches for the trainer: right-padded token/label matrices plus the causally shifted targets
// the loss kernel reads, and a loader that walks the examples for a number of steps, epoch after
// epoch, with a seeded per-epoch shuffle whose position (epoch, index) is enough to resume a run
// on exactly the batch it would have seen next.

import { QloraError } from '../errors';
import { IGNORE_INDEX, type TrainingExample } from './examples';
import { createRng, deriveSeed, shuffledIndices } from './rng';

export interface Batch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array; // (B, T) row-major, padId after each example
  labels: Int32Array; // (B, T) IGNORE_INDEX on padding
  targets: Int32Array; // (B, T) targets[b, t] = labels[b, t + 1]; IGNORE_INDEX at t = T - 1 (causal shift)
  /** Non-padding tokens. */
  tokenCount: number;
  /** Targets that take loss (!= IGNORE_INDEX): the denominator of the mean cross-entropy. */
  targetCount: number;
}

/** Right-pads to the longest example, or to padToLength (a fixed shape, e.g. for reused GPU buffers). */
export function collate(examples: readonly TrainingExample[], padTokenId: number, opts: { padToLength?: number } = {}): Batch {
  if (examples.length === 0) throw new QloraError('INTERNAL', 'collate: a batch needs at least one example.');
  const longest = Math.max(...examples.map((e) => e.inputIds.length));
  const seqLen = opts.padToLength ?? longest;
  if (longest > seqLen) {
    throw new QloraError('ARGUMENT_INVALID', `An example has ${longest} tokens but batches are padded to ${seqLen}; truncate examples to maxLength ≤ ${seqLen}.`);
  }
  const batchSize = examples.length;
  const inputIds = new Int32Array(batchSize * seqLen).fill(padTokenId);
  const labels = new Int32Array(batchSize * seqLen).fill(IGNORE_INDEX);
  const targets = new Int32Array(batchSize * seqLen).fill(IGNORE_INDEX);
  let tokenCount = 0;
  let targetCount = 0;
  examples.forEach((example, b) => {
    if (example.labels.length !== example.inputIds.length) {
      throw new QloraError('INTERNAL', `collate: example ${b} has ${example.inputIds.length} ids but ${example.labels.length} labels.`);
    }
    const row = b * seqLen;
    inputIds.set(example.inputIds, row);
    labels.set(example.labels, row);
    tokenCount += example.inputIds.length;
    for (let t = 0; t + 1 < example.labels.length; t++) {
      const target = example.labels[t + 1];
      targets[row + t] = target;
      if (target !== IGNORE_INDEX) targetCount++;
    }
  });
  return { batchSize, seqLen, inputIds, labels, targets, tokenCount, targetCount };
}

/** Where the next batch starts: `index` counts examples already taken in epoch `epoch`. */
export interface LoaderPosition {
  epoch: number;
  index: number;
}

export interface DataLoaderOptions {
  batchSize: number;
  padTokenId: number;
  /** Shuffle each epoch (default true); false keeps file order. */
  shuffle?: boolean;
  /** Seed of the per-epoch shuffles (default 0). */
  seed?: number;
  padToLength?: number;
  /** Resume from a saved `position`. */
  start?: LoaderPosition;
}

export interface LoaderBatch extends Batch {
  /** The epoch the batch was drawn from. */
  epoch: number;
  /** Indices into the loader's examples, in batch order. */
  exampleIndices: number[];
}

/**
 * Batches of `batchSize` examples in each epoch's order; an epoch's last batch holds what is left
 * (as PyTorch's DataLoader with drop_last=False), then the next epoch starts. Each epoch's order
 * depends only on (seed, epoch), so no generator state needs saving to resume.
 */
export class DataLoader {
  private readonly shuffle: boolean;
  private readonly seed: number;
  private epoch: number;
  private index: number;
  private order: number[];

  constructor(
    private readonly examples: readonly TrainingExample[],
    private readonly opts: DataLoaderOptions,
  ) {
    if (examples.length === 0) throw new QloraError('DATASET_INVALID', 'There are no training examples to load.');
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new QloraError('ARGUMENT_INVALID', `batchSize must be a positive integer, got ${opts.batchSize}.`);
    }
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    const start = opts.start ?? { epoch: 0, index: 0 };
    if (!Number.isInteger(start.epoch) || start.epoch < 0 || !Number.isInteger(start.index) || start.index < 0 || start.index >= examples.length) {
      throw new QloraError('ARGUMENT_INVALID', `Cannot resume the data loader at epoch ${start.epoch}, index ${start.index}: there are ${examples.length} examples per epoch.`);
    }
    this.epoch = start.epoch;
    this.index = start.index;
    this.order = this.epochOrder(this.epoch);
  }

  get position(): LoaderPosition {
    return { epoch: this.epoch, index: this.index };
  }

  /** The order in which epoch `epoch` visits the examples. */
  epochOrder(epoch: number): number[] {
    const n = this.examples.length;
    if (!this.shuffle) return Array.from({ length: n }, (_, i) => i);
    return shuffledIndices(n, createRng(deriveSeed(this.seed, epoch)));
  }

  next(): LoaderBatch {
    const exampleIndices = this.order.slice(this.index, this.index + this.opts.batchSize);
    const epoch = this.epoch;
    this.index += exampleIndices.length;
    if (this.index >= this.order.length) {
      this.epoch++;
      this.index = 0;
      this.order = this.epochOrder(this.epoch);
    }
    const batch = collate(exampleIndices.map((i) => this.examples[i]), this.opts.padTokenId, { padToLength: this.opts.padToLength });
    return { ...batch, epoch, exampleIndices };
  }

  /** The next `steps` batches. */
  *take(steps: number): Generator<LoaderBatch> {
    for (let step = 0; step < steps; step++) yield this.next();
  }
}
