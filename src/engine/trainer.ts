// The training loop's core: one optimizer step = forward/backward over its micro-batches (gradients
// accumulate, scaled so they equal the gradient of the mean loss over all their targets), then AdamW.
// Reports the loss of the step's batch before its update, as the reference does. Passes are cached by
// batch shape.
import type { GpuContext } from '../gpu/context';
import type { GpuModelWeights } from './gpu-weights';
import type { GpuLora } from './gpu-lora';
import type { PassOptions, GpuBatch } from './causal-lm';
import { ModelPass } from './causal-lm';
import { AdamW } from './optimizer';
import type { OptimizerHyper } from './optimizer';
import type { SchedulerName } from './schedule';
import { learningRate } from './schedule';
import { deriveSeed } from '../data/rng';
import { QloraError } from '../errors';

export interface TrainerOptions {
  lr: number;
  scheduler: SchedulerName;
  warmupSteps: number;
  totalSteps: number;
  optimizer: OptimizerHyper;
  seed: number;
  gradientCheckpointing: boolean;
}

/** A micro-batch: B×T token ids, shifted targets, and how many targets take loss. */
export interface MicroBatch extends GpuBatch {
  batchSize: number;
  seqLen: number;
  targetCount: number;
  tokenCount: number;
}

export interface StepResult {
  step: number; // 1-based index of the update just applied
  loss: number; // mean loss of the batch before the update
  lr: number;
  tokens: number;
  ms: number;
}

export class Trainer {
  private readonly passes = new Map<string, ModelPass>();
  private readonly optimizer: AdamW;

  constructor(
    private readonly ctx: GpuContext,
    private readonly weights: GpuModelWeights,
    readonly lora: GpuLora,
    readonly options: TrainerOptions,
  ) {
    this.optimizer = new AdamW(ctx, lora, options.optimizer);
  }

  /** Updates applied so far. */
  get step(): number {
    return this.optimizer.t;
  }

  /** Restores the update counter of a resumed run (the moments come back through gpu-lora). */
  set step(t: number) {
    this.optimizer.t = t;
  }

  pass(B: number, T: number, train: boolean, opts: PassOptions = {}): ModelPass {
    const key = `${train}:${B}x${T}:${!!opts.keepLogits}`;
    let p = this.passes.get(key);
    if (!p) {
      p = new ModelPass(this.ctx, this.weights, this.lora, B, T, train, { gradientCheckpointing: this.options.gradientCheckpointing, ...opts });
      this.passes.set(key, p);
    }
    return p;
  }

  currentLr(): number {
    const o = this.options;
    return learningRate(o.lr, o.scheduler, this.step, o.warmupSteps, o.totalSteps);
  }

  /** One optimizer step over `micro` (gradient accumulation when more than one). */
  async trainStep(micro: MicroBatch[]): Promise<StepResult> {
    const start = performance.now();
    const targets = micro.reduce((s, b) => s + b.targetCount, 0);
    if (targets === 0) throw new QloraError('DATASET_INVALID', 'This batch has no tokens to learn from (all labels are -100).');
    const lossParts: Promise<number>[] = [];
    for (const [i, b] of micro.entries()) {
      const p = this.pass(b.batchSize, b.seqLen, true);
      await p.run(b, { gradScale: 1 / targets, seed: deriveSeed(this.options.seed, this.step * 4096 + i) });
      lossParts.push(p.readLossSum());
    }
    // Wait for the loss before updating: a NaN/Inf step is refused and the adapter stays as it was.
    const loss = (await Promise.all(lossParts)).reduce((a, b) => a + b, 0) / targets;
    const lr = this.currentLr();
    if (!Number.isFinite(loss)) {
      this.optimizer.discardGradients();
      throw new QloraError('NUMERIC', `The loss became ${loss} at step ${this.step + 1}; the update was not applied. Lower the learning rate (now ${lr}) and resume from the last checkpoint.`);
    }
    this.optimizer.step(lr);
    return { step: this.step, loss, lr, tokens: micro.reduce((s, b) => s + b.tokenCount, 0), ms: performance.now() - start };
  }

  /** Mean loss over batches without updating anything (dropout off). */
  async evaluate(batches: MicroBatch[]): Promise<{ loss: number; tokens: number }> {
    let sum = 0;
    let count = 0;
    for (const b of batches) {
      const p = this.pass(b.batchSize, b.seqLen, false);
      await p.run(b);
      sum += await p.readLossSum();
      count += b.targetCount;
    }
    return { loss: sum / count, tokens: count };
  }

  async lastGradNorm(): Promise<number> {
    return this.optimizer.lastGradNorm();
  }

  destroy(): void {
    for (const p of this.passes.values()) p.destroy();
    this.passes.clear();
    this.optimizer.destroy();
  }
}
