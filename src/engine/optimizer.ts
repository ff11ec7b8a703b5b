// One optimizer step on the GPU as a recorded program: Σg² over the flat gradients (for torch's
// clip_grad_norm_), AdamW, then zeroing the gradients for the next accumulation. Only the learning
// rate, the bias corrections and the micro-batch count are written per step.
//
// The host never waits for a step: AdamW itself refuses a step whose loss or gradient norm is not
// finite (shaders/adamw.wgsl), and each step leaves its loss sums, Σg² and the refusal latch in a
// small staging buffer that the host maps later (readStep), while the GPU runs the next step.
import type { ProfileClock, WorkTime } from '../gpu/profile';
import type { GpuContext } from '../gpu/context';
import { createStaging, mapStaging, writeBuffer } from '../gpu/context';
import type { Program } from '../gpu/program';
import { Recorder } from '../gpu/program';
import { STEP_VALS_HEAD, adamw, reduceSum, reduceScratchFloats } from '../gpu/ops/optimizer';
import type { AdamWHyper } from '../gpu/ops/optimizer';
import type { GpuLora } from './gpu-lora';
import type { PlannedBuffer } from './buffer-plan';
import { allocPlan } from './buffer-plan';

export interface OptimizerHyper extends AdamWHyper {}

/** torch.optim.AdamW defaults with the QLoRA paper's max grad norm 0.3 and weight decay 0. */
export const DEFAULT_OPTIMIZER: OptimizerHyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0.3 };

/** A submitted step whose outcome the host has not read yet. */
export interface QueuedUpdate {
  readonly staging: GPUBuffer; // f32 [k loss sums, Σg², refused (u32)]
  readonly microBatches: number;
}

/** What the GPU did with a step. */
export interface UpdateOutcome {
  /** False when the step was refused (non-finite values, or an earlier refusal not yet cleared). */
  applied: boolean;
  /** Σ over the step's micro-batches of their loss sums, added in micro-batch order in f64. */
  lossSum: number;
  /** ‖g‖ of the accumulated gradients, before clipping. */
  gradNorm: number;
}

const SCRATCH = 'optimizer scratch';

/** AdamW's own buffers for n parameters (the moments are GpuLora's): Σg², the refused-step latch, the reduce scratch. */
export function adamwPlan(n: number): PlannedBuffer[] {
  return [
    { name: 'grad_sumsq', floats: 1, group: SCRATCH },
    { name: 'refused', floats: 1, group: SCRATCH },
    { name: 'reduce', floats: reduceScratchFloats(n), group: SCRATCH },
  ];
}

/** The per-step values: lr, bias corrections, micro-batch count, and a loss sum per micro-batch (re-made when a step has more). */
export function adamwStepPlan(microBatches: number): PlannedBuffer[] {
  return [{ name: 'step', floats: STEP_VALS_HEAD + microBatches, group: SCRATCH }];
}

export class AdamW {
  private stepVals!: GPUBuffer;
  private readonly sumsq: GPUBuffer;
  private readonly refused: GPUBuffer;
  private readonly scratch: GPUBuffer;
  private program!: Program;
  /** Micro-batch loss sums `stepVals` has room for; grows (re-recording the program) when a step has more. */
  private capacity = 0;
  /** Staging buffers read back and free to reuse, by size. */
  private readonly freeStaging: GPUBuffer[] = [];
  /** Updates applied so far (torch's `step` state), counting the queued ones the host has not read yet. */
  t = 0;

  constructor(private readonly ctx: GpuContext, private readonly lora: GpuLora, readonly hyper: OptimizerHyper) {
    const b = allocPlan(ctx, adamwPlan(lora.layout.totalFloats), 'adamw');
    this.sumsq = b.grad_sumsq;
    this.refused = b.refused;
    this.scratch = b.reduce;
    this.record(1);
  }

  private record(capacity: number): void {
    const old = this.capacity ? this.stepVals : null;
    const oldFloats = STEP_VALS_HEAD + this.capacity;
    if (old) this.program.destroy();
    this.capacity = capacity;
    this.stepVals = allocPlan(this.ctx, adamwStepPlan(capacity), 'adamw').step;
    if (old) {
      // The loss sums already recorded for this step move along: growing on micro-batch k must not
      // lose micro-batches 0..k-1 (the step's reported loss and its NaN gate read them).
      const enc = this.ctx.device.createCommandEncoder({ label: 'adamw.step.grow' });
      enc.copyBufferToBuffer(old, 0, this.stepVals, 0, oldFloats * 4);
      this.ctx.device.queue.submit([enc.finish()]);
      this.ctx.destroyBuffer(old);
    }
    const n = this.lora.layout.totalFloats;
    const rec = new Recorder(this.ctx);
    reduceSum(rec, this.sumsq, this.lora.grads, n, this.scratch, true);
    adamw(rec, this.lora.params, this.lora.grads, this.lora.m, this.lora.v, this.sumsq, this.stepVals, this.refused, n, this.hyper);
    rec.clear(this.lora.grads);
    this.program = rec.finish('adamw');
  }

  /** Applies the last update's program once more with each dispatch timed on its own (the bench's step profile). */
  timeEachStep(clock: ProfileClock): Promise<WorkTime[]> {
    return this.program.timeEachStep(clock);
  }

  /** Compute dispatches of one update (Σg², AdamW). */
  get dispatchCount(): number {
    return this.program.dispatchCount;
  }

  /**
   * Queues a copy of the loss sum of micro-batch `index` (f32 [1] in `lossSum`, written by the pass
   * just submitted) into the values the next `step` gates on. Call after each micro-batch's pass.
   */
  recordLoss(index: number, lossSum: GPUBuffer): void {
    if (index >= this.capacity) this.record(Math.max(index + 1, this.capacity * 2));
    const enc = this.ctx.device.createCommandEncoder({ label: 'adamw.loss' });
    enc.copyBufferToBuffer(lossSum, 0, this.stepVals, (STEP_VALS_HEAD + index) * 4, 4);
    this.ctx.device.queue.submit([enc.finish()]);
  }

  /**
   * Queues one update with learning rate `lr` over the gradients of `microBatches` passes (whose loss
   * sums went through recordLoss), and clears the gradients. Nothing is read here: the outcome comes
   * from readStep.
   */
  step(lr: number, microBatches: number): QueuedUpdate {
    if (microBatches < 1 || microBatches > this.capacity) throw new Error(`adamw: ${microBatches} micro-batches, ${this.capacity} loss sums recorded at most`);
    this.t += 1;
    const { beta1, beta2 } = this.hyper;
    writeBuffer(this.ctx, this.stepVals, 0, new Float32Array([lr, 1 - beta1 ** this.t, 1 - beta2 ** this.t, microBatches]));
    this.program.submit();
    const bytes = (microBatches + 2) * 4;
    const staging = this.takeStaging(bytes);
    const enc = this.ctx.device.createCommandEncoder({ label: 'adamw.outcome' });
    enc.copyBufferToBuffer(this.stepVals, STEP_VALS_HEAD * 4, staging, 0, microBatches * 4);
    enc.copyBufferToBuffer(this.sumsq, 0, staging, microBatches * 4, 4);
    enc.copyBufferToBuffer(this.refused, 0, staging, (microBatches + 1) * 4, 4);
    this.ctx.device.queue.submit([enc.finish()]);
    return { staging, microBatches };
  }

  /** Waits for a queued update (and only for it: later ones keep the GPU busy) and says what happened. */
  async readStep(u: QueuedUpdate): Promise<UpdateOutcome> {
    const k = u.microBatches;
    const raw = await mapStaging(u.staging, (k + 2) * 4);
    this.releaseStep(u);
    const f = new Float32Array(raw);
    let lossSum = 0;
    for (let i = 0; i < k; i++) lossSum += f[i];
    // `refused` after this step: 1 when this step (or one before it that the host has not cleared) was refused.
    return { applied: new Uint32Array(raw)[k + 1] === 0, lossSum, gradNorm: Math.sqrt(f[k]) };
  }

  /** Gives back a queued update's staging buffer without reading it. */
  releaseStep(u: QueuedUpdate): void {
    this.freeStaging.push(u.staging);
  }

  /**
   * After a refused step: lets later steps apply again, counting from `applied` updates (the step
   * before the refused one; every step queued after it was skipped).
   */
  clearRefusal(applied: number): void {
    this.t = applied;
    writeBuffer(this.ctx, this.refused, 0, new Uint32Array([0]));
  }

  private takeStaging(bytes: number): GPUBuffer {
    const i = this.freeStaging.findIndex((b) => b.size >= bytes && b.mapState === 'unmapped');
    if (i >= 0) return this.freeStaging.splice(i, 1)[0];
    return createStaging(this.ctx, bytes, 'adamw.outcome');
  }

  destroy(): void {
    for (const b of [this.stepVals, this.sumsq, this.refused, this.scratch]) this.ctx.destroyBuffer(b);
    for (const b of this.freeStaging) b.destroy();
    this.freeStaging.length = 0;
    this.program.destroy();
  }
}
