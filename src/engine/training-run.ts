// A whole fine-tuning run over the engine, as the app's worker (and any other host) drives it: the
// step loop with pause / resume / stop, validation loss every N steps with early stopping, and a
// checkpoint (adapter, AdamW moments, step, data position, history) every N steps handed to the host
// to persist — the engine itself touches no storage. A run resumes from a checkpoint exactly where it
// stopped: same parameters, same optimizer state, same next batch.
import type { GpuContext } from '../gpu/context';
import type { GpuModelWeights } from './gpu-weights';
import { createGpuLora, destroyGpuLora, readLoraParams, readOptimizerState, writeOptimizerState } from './gpu-lora';
import type { GpuLora } from './gpu-lora';
import type { LoraLayout } from './lora';
import { Trainer } from './trainer';
import { DataLoader, collate } from '../data/batch';
import type { LoaderBatch, LoaderPosition } from '../data/batch';
import type { TrainingExample } from '../data/examples';
import type { RunSettings } from './run-settings';
import { DEFAULT_SETTINGS } from './run-settings';
import { QloraError } from '../errors';
import { checkAdapterParams } from './divergence';
import { plannedSteps } from './step-plan';
import { DEFAULT_OPTIMIZER } from './optimizer';

export interface HistoryPoint {
  step: number;
  loss: number;
  lr: number;
  tokens: number;
  ms: number;
  /** ‖g‖ before clipping (absent in checkpoints saved before it was kept). */
  gradNorm?: number;
  /** Epochs done after this step, as Hugging Face's Trainer counts them: micro-batches / micro-batches per epoch. */
  epoch?: number;
  valLoss?: number;
}

export interface RunCheckpoint {
  step: number;
  totalSteps: number;
  position: LoaderPosition;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  history: HistoryPoint[];
  bestValLoss: number | null;
  evalsWithoutImprovement: number;
  elapsedMs: number;
}

export type RunState = 'training' | 'paused' | 'stopped' | 'done' | 'early-stopped';

export interface RunHooks {
  onStep?(p: HistoryPoint & { totalSteps: number; elapsedMs: number; tokensPerSecond: number }): void;
  onEval?(step: number, valLoss: number): void;
  /** Called every checkpointEvery steps and at the end; the run waits for it (persisting must finish). */
  onCheckpoint?(c: RunCheckpoint): Promise<void> | void;
  onState?(s: RunState): void;
}

export class TrainingRun {
  readonly lora: GpuLora;
  readonly trainer: Trainer;
  readonly totalSteps: number;
  private readonly loader: DataLoader;
  private history: HistoryPoint[];
  private bestValLoss: number | null;
  private evalsWithoutImprovement: number;
  private elapsedBefore: number;
  private state: RunState = 'paused';
  private resumeGate: (() => void) | null = null;
  private stopRequested = false;
  private pauseRequested = false;
  // Of the current run() call: when it started, time spent paused, tokens trained on.
  private started = 0;
  private pausedMs = 0;
  private tokensSeen = 0;
  /** The epoch count after each queued step, oldest first (read when its result arrives). */
  private readonly queuedEpochs: number[] = [];
  private readonly batchesPerEpoch: number;

  constructor(
    private readonly ctx: GpuContext,
    weights: GpuModelWeights,
    readonly layout: LoraLayout,
    train: readonly TrainingExample[],
    private readonly val: readonly TrainingExample[],
    readonly settings: RunSettings,
    private readonly padTokenId: number,
    start: { params: Float32Array } | { checkpoint: RunCheckpoint },
    private readonly hooks: RunHooks = {},
  ) {
    if (train.length === 0) throw new QloraError('DATASET_INVALID', 'No training examples: the dataset is empty after the validation split.');
    const cp = 'checkpoint' in start ? start.checkpoint : null;
    this.totalSteps = cp?.totalSteps ?? plannedSteps(settings, train.length);
    this.lora = createGpuLora(ctx, layout, cp ? cp.params : (start as { params: Float32Array }).params);
    if (cp) writeOptimizerState(ctx, this.lora, { m: cp.m, v: cp.v });
    this.trainer = new Trainer(ctx, weights, this.lora, {
      lr: settings.lr,
      scheduler: settings.scheduler,
      warmupSteps: settings.warmup,
      totalSteps: this.totalSteps,
      seed: settings.seed,
      gradientCheckpointing: settings.gradientCheckpointing,
      optimizer: { ...DEFAULT_OPTIMIZER, weightDecay: settings.weightDecay, maxGradNorm: settings.maxGradNorm },
    });
    if (cp) this.trainer.step = cp.step;
    this.batchesPerEpoch = Math.ceil(train.length / settings.batchSize);
    this.loader = new DataLoader(train, { batchSize: settings.batchSize, padTokenId, shuffle: settings.shuffle, seed: settings.seed, start: cp?.position });
    this.history = cp ? [...cp.history] : [];
    this.bestValLoss = cp?.bestValLoss ?? null;
    this.evalsWithoutImprovement = cp?.evalsWithoutImprovement ?? 0;
    this.elapsedBefore = cp?.elapsedMs ?? 0;
  }

  get step(): number {
    return this.trainer.step;
  }

  get runState(): RunState {
    return this.state;
  }

  private setState(s: RunState): void {
    this.state = s;
    this.hooks.onState?.(s);
  }

  pause(): void {
    this.pauseRequested = true;
  }

  resume(): void {
    this.pauseRequested = false;
    this.resumeGate?.();
  }

  stop(): void {
    this.stopRequested = true;
    this.resumeGate?.();
  }

  /** Mean validation loss (dropout off), or null without validation examples. */
  async validationLoss(): Promise<number | null> {
    if (this.val.length === 0) return null;
    const bs = this.settings.batchSize;
    const batches = [];
    for (let i = 0; i < this.val.length; i += bs) batches.push(collate(this.val.slice(i, i + bs), this.padTokenId));
    return (await this.trainer.evaluate(batches)).loss;
  }

  /** Reads the queued steps back first, so the checkpoint holds only applied updates and their history. */
  async checkpoint(elapsedMs: number): Promise<RunCheckpoint> {
    await this.settle(0);
    const [params, opt] = await Promise.all([readLoraParams(this.ctx, this.lora), readOptimizerState(this.ctx, this.lora)]);
    // A diverged adapter is never handed over to be persisted: the last good checkpoint stays stored.
    checkAdapterParams(this.step, params, this.settings.lr);
    return {
      step: this.step, totalSteps: this.totalSteps, position: this.loader.position, params, m: opt.m, v: opt.v,
      history: [...this.history], bestValLoss: this.bestValLoss, evalsWithoutImprovement: this.evalsWithoutImprovement, elapsedMs,
    };
  }

  private elapsed(): number {
    return this.elapsedBefore + (performance.now() - this.started) - this.pausedMs;
  }

  /**
   * Takes the results of queued steps (leaving the newest `keep` on the GPU) into the history and the
   * hooks; a step that ends an evaluation period is only ever settled with nothing queued after it,
   * so its validation loss is of the adapter right after it.
   */
  private async settle(keep: number): Promise<void> {
    for (const r of await this.trainer.settle(keep)) {
      this.tokensSeen += r.tokens;
      const epoch = this.queuedEpochs.shift();
      const point: HistoryPoint = { step: r.step, loss: r.loss, lr: r.lr, tokens: r.tokens, ms: r.ms, gradNorm: r.gradNorm, ...(epoch !== undefined ? { epoch } : {}) };
      if (this.evaluatesAfter(r.step)) {
        const valLoss = await this.validationLoss();
        if (valLoss !== null) {
          point.valLoss = valLoss;
          this.hooks.onEval?.(r.step, valLoss);
          if (this.bestValLoss === null || valLoss < this.bestValLoss) {
            this.bestValLoss = valLoss;
            this.evalsWithoutImprovement = 0;
          } else this.evalsWithoutImprovement++;
        }
      }
      this.history.push(point);
      this.hooks.onStep?.({ ...point, totalSteps: this.totalSteps, elapsedMs: this.elapsed(), tokensPerSecond: this.tokensSeen / ((performance.now() - this.started - this.pausedMs) / 1000) });
    }
  }

  private evaluatesAfter(step: number): boolean {
    return step % this.settings.evalEvery === 0 || step === this.totalSteps;
  }

  private checkpointsAfter(step: number): boolean {
    return step % this.settings.checkpointEvery === 0 || step === this.totalSteps;
  }

  /** A step's micro-batches: `gradAccum` of them, fewer at an epoch's end (see step-plan.ts). */
  private nextMicroBatches(): LoaderBatch[] {
    const micro = [this.loader.next()];
    while (micro.length < this.settings.gradAccum && this.loader.position.index !== 0) micro.push(this.loader.next());
    const { epoch, index } = this.loader.position;
    this.queuedEpochs.push(epoch + Math.ceil(index / this.settings.batchSize) / this.batchesPerEpoch);
    return micro;
  }

  /** Runs until the last step, a stop, or early stopping; resolves with the final state. */
  async run(): Promise<RunState> {
    this.started = performance.now();
    this.pausedMs = 0;
    this.tokensSeen = 0;
    this.setState('training');
    while (this.step < this.totalSteps && !this.stopRequested) {
      if (this.pauseRequested) {
        const p0 = performance.now();
        await this.settle(0);
        this.setState('paused');
        await this.hooks.onCheckpoint?.(await this.checkpoint(this.elapsed()));
        // Resume (or Stop) pressed while the checkpoint was being saved has already cleared the pause.
        if (this.pauseRequested && !this.stopRequested) await new Promise<void>((r) => (this.resumeGate = r));
        this.resumeGate = null;
        this.pausedMs += performance.now() - p0;
        if (this.stopRequested) break;
        this.setState('training');
      }
      await this.trainer.queueStep(this.nextMicroBatches());
      const step = this.step;
      // The GPU runs this step while the previous one is read, except where the host needs this
      // step's adapter next (evaluation, checkpoint) or the run is about to wait (pause, stop). A paced
      // context (the page's) reads every step at once: its queueStep already waited for the GPU segment
      // by segment, so a step queued ahead would overlap little, and Stop or Pause — pressed while the
      // page shows the last step read — would land two steps on instead of at the end of the one on the GPU.
      const sync = this.ctx.pacedSubmission || this.evaluatesAfter(step) || this.checkpointsAfter(step) || this.pauseRequested || this.stopRequested;
      await this.settle(sync ? 0 : 1);
      if (this.settings.patience > 0 && this.evalsWithoutImprovement >= this.settings.patience) {
        await this.hooks.onCheckpoint?.(await this.checkpoint(this.elapsed()));
        this.setState('early-stopped');
        return this.state;
      }
      if (this.checkpointsAfter(step)) await this.hooks.onCheckpoint?.(await this.checkpoint(this.elapsed()));
    }
    await this.settle(0);
    if (this.stopRequested) {
      await this.hooks.onCheckpoint?.(await this.checkpoint(this.elapsed()));
      this.setState('stopped');
    } else this.setState('done');
    return this.state;
  }

  destroy(): void {
    this.trainer.destroy();
    destroyGpuLora(this.ctx, this.lora);
  }
}
