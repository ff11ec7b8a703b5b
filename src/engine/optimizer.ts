// One optimizer step on the GPU as a recorded program: Σg² over the flat gradients (for torch's
// clip_grad_norm_), AdamW, then zeroing the gradients for the next accumulation. Only the learning
// rate and the bias corrections are written per step.
import type { GpuContext } from '../gpu/context';
import { STORAGE, readF32, writeBuffer } from '../gpu/context';
import type { Program } from '../gpu/program';
import { Recorder } from '../gpu/program';
import { adamw, reduceSum, reduceScratch } from '../gpu/ops/optimizer';
import type { AdamWHyper } from '../gpu/ops/optimizer';
import type { GpuLora } from './gpu-lora';

export interface OptimizerHyper extends AdamWHyper {}

/** torch.optim.AdamW defaults with the QLoRA paper's max grad norm 0.3 and weight decay 0. */
export const DEFAULT_OPTIMIZER: OptimizerHyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0.3 };

export class AdamW {
  private readonly stepVals: GPUBuffer;
  private readonly sumsq: GPUBuffer;
  private readonly scratch: GPUBuffer;
  private readonly program: Program;
  /** Updates applied so far (torch's `step` state). */
  t = 0;

  constructor(private readonly ctx: GpuContext, private readonly lora: GpuLora, readonly hyper: OptimizerHyper) {
    const n = lora.layout.totalFloats;
    this.stepVals = ctx.createBuffer(16, STORAGE, 'adamw.step');
    this.sumsq = ctx.createBuffer(4, STORAGE, 'adamw.grad_sumsq');
    this.scratch = reduceScratch(ctx, n, 'adamw.reduce');
    const rec = new Recorder(ctx);
    reduceSum(rec, this.sumsq, lora.grads, n, this.scratch, true);
    adamw(rec, lora.params, lora.grads, lora.m, lora.v, this.sumsq, this.stepVals, n, hyper);
    rec.clear(lora.grads);
    this.program = rec.finish('adamw');
  }

  /** Compute dispatches of one update (Σg², AdamW). */
  get dispatchCount(): number {
    return this.program.dispatchCount;
  }

  /** Applies one update with learning rate `lr` and clears the gradients. */
  step(lr: number): void {
    this.t += 1;
    const { beta1, beta2 } = this.hyper;
    writeBuffer(this.ctx, this.stepVals, 0, new Float32Array([lr, 1 - beta1 ** this.t, 1 - beta2 ** this.t, 0]));
    this.program.submit();
  }

  /** Zeroes the accumulated gradients without an update (a refused step). */
  discardGradients(): void {
    const enc = this.ctx.device.createCommandEncoder({ label: 'discard grads' });
    enc.clearBuffer(this.lora.grads);
    this.ctx.device.queue.submit([enc.finish()]);
  }

  /** ‖g‖ of the last step, before clipping. */
  async lastGradNorm(): Promise<number> {
    return Math.sqrt((await readF32(this.ctx, this.sumsq, 0, 1))[0]);
  }

  destroy(): void {
    for (const b of [this.stepVals, this.sumsq, this.scratch]) this.ctx.destroyBuffer(b);
    this.program.destroy();
  }
}
