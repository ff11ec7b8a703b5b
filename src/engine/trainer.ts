// The training loop's core: one optimizer step = forward/backward over its micro-batches (gradients
// accumulate, scaled so they equal the gradient of the mean loss over all their targets), then AdamW.
// Reports the loss of the step's batch before its update, as the reference does. Passes are cached by
// batch shape.
//
// A step is queued without reading anything back (queueStep): AdamW refuses a NaN/Inf step on the GPU,
// and its loss and gradient norm arrive later (settle), typically one step late, so the GPU queue never
// drains between steps. A refused step surfaces there as the NUMERIC error naming it, with the adapter
// and the optimizer as they were before it.
import type { GpuContext } from '../gpu/context';
import type { GpuModelWeights } from './gpu-weights';
import type { GpuLora } from './gpu-lora';
import type { PassOptions, GpuBatch } from './causal-lm';
import { ModelPass } from './causal-lm';
import { AdamW } from './optimizer';
import type { OptimizerHyper, QueuedUpdate } from './optimizer';
import { checkGradNorm } from './divergence';
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
  /** Wall time this step's result took to arrive after the previous one (or after it was queued). */
  ms: number;
  /** ‖g‖ of the step's gradients, before clipping. */
  gradNorm: number;
}

interface QueuedStep {
  step: number;
  lr: number;
  tokens: number;
  targets: number;
  queuedAt: number;
  update: QueuedUpdate;
}

export class Trainer {
  private readonly passes = new Map<string, ModelPass>();
  private readonly optimizer: AdamW;
  private readonly queued: QueuedStep[] = [];
  /** A refusal found while earlier steps' results were being handed out: thrown by the next call. */
  private refusal: Error | null = null;
  private lastArrival = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly weights: GpuModelWeights,
    readonly lora: GpuLora,
    readonly options: TrainerOptions,
  ) {
    this.optimizer = new AdamW(ctx, lora, options.optimizer);
  }

  /** Updates queued so far, the ones whose results have not arrived included. */
  get step(): number {
    return this.optimizer.t;
  }

  /** Restores the update counter of a resumed run (the moments come back through gpu-lora). */
  set step(t: number) {
    if (this.queued.length) throw new Error('Trainer.step set while steps are queued');
    this.optimizer.t = t;
  }

  /** Steps queued whose results have not been read yet. */
  get queuedSteps(): number {
    return this.queued.length;
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

  /** Queues one optimizer step over `micro` (gradient accumulation when more than one); reads nothing back. */
  async queueStep(micro: MicroBatch[]): Promise<void> {
    this.throwRefusal();
    const queuedAt = performance.now();
    const targets = micro.reduce((s, b) => s + b.targetCount, 0);
    if (targets === 0) throw new QloraError('DATASET_INVALID', 'This batch has no tokens to learn from (all labels are -100).');
    for (const [i, b] of micro.entries()) {
      const p = this.pass(b.batchSize, b.seqLen, true);
      await p.run(b, { gradScale: 1 / targets, seed: deriveSeed(this.options.seed, this.step * 4096 + i) });
      this.optimizer.recordLoss(i, p.lossSumBuffer);
    }
    const lr = this.currentLr();
    const update = this.optimizer.step(lr, micro.length);
    this.queued.push({ step: this.step, lr, tokens: micro.reduce((s, b) => s + b.tokenCount, 0), targets, queuedAt, update });
  }

  /**
   * Results of the queued steps, oldest first, leaving the newest `keep` queued (1 in a training loop:
   * the GPU works on step N while the host reads step N-1). Throws the NUMERIC error of a refused step;
   * if earlier steps' results come out in the same call, they are returned and the error is thrown by
   * the next call. After a refusal every later queued step is dropped (the GPU skipped them) and
   * `step` is the last applied update, so a host may fix the cause and queue again.
   */
  async settle(keep = 0): Promise<StepResult[]> {
    this.throwRefusal();
    const out: StepResult[] = [];
    while (this.queued.length > keep) {
      const q = this.queued.shift()!;
      const r = await this.optimizer.readStep(q.update);
      const loss = r.lossSum / q.targets;
      if (!r.applied) {
        for (const later of this.queued.splice(0)) this.optimizer.releaseStep(later.update);
        this.optimizer.clearRefusal(q.step - 1);
        this.refusal = refusalError(q, loss, r.gradNorm);
        if (out.length) return out;
        this.throwRefusal();
      }
      const now = performance.now();
      out.push({ step: q.step, loss, lr: q.lr, tokens: q.tokens, ms: now - Math.max(this.lastArrival, q.queuedAt), gradNorm: r.gradNorm });
      this.lastArrival = now;
    }
    return out;
  }

  /** One step with its result at once (waits for the GPU): for tests and hosts that need no overlap. */
  async trainStep(micro: MicroBatch[]): Promise<StepResult> {
    await this.queueStep(micro);
    const results = await this.settle();
    return results[results.length - 1];
  }

  private throwRefusal(): void {
    const e = this.refusal;
    this.refusal = null;
    if (e) throw e;
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

  destroy(): void {
    for (const q of this.queued.splice(0)) this.optimizer.releaseStep(q.update);
    for (const p of this.passes.values()) p.destroy();
    this.passes.clear();
    this.optimizer.destroy();
  }
}

/** Why the GPU refused step `q`: its loss, else its gradient norm, was not finite. */
function refusalError(q: QueuedStep, loss: number, gradNorm: number): Error {
  if (!Number.isFinite(loss)) {
    return new QloraError('NUMERIC', `The loss became ${loss} at step ${q.step}; the update was not applied. Lower the learning rate (now ${q.lr}) and resume from the last checkpoint.`, { step: q.step });
  }
  try {
    checkGradNorm(q.step, gradNorm, q.lr);
  } catch (e) {
    return e as Error;
  }
  return new QloraError('INTERNAL', `Step ${q.step} was refused on the GPU although its loss (${loss}) and gradient norm (${gradNorm}) are finite.`);
}
