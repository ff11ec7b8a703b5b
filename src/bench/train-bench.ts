// One benchmark configuration: a model shape on the GPU, LoRA, a training pass of B×T tokens and the
// optimizer, timed over N steps after a warm-up step, then the pass once more segment by segment for
// the longest submission. Reports the fields the results file keeps. With allocOnly it builds every
// buffer and program and reports the tracked peak without running (big shapes on a software adapter).
import type { GpuContext } from '../gpu/context';
import { readbackCounter } from '../gpu/context';
import type { ModelConfig } from '../formats/model-config';
import { uploadModelWeights, destroyModelWeights } from '../engine/gpu-weights';
import type { BaseQuant, HostModelWeights } from '../engine/base-weights';
import { createGpuLora, destroyGpuLora } from '../engine/gpu-lora';
import { initLoraParams, loraLayout } from '../engine/lora';
import type { LoraSettings } from '../engine/lora';
import { ModelPass } from '../engine/causal-lm';
import { AdamW, DEFAULT_OPTIMIZER } from '../engine/optimizer';
import { trainingStepFlops } from './flops';
import { timeGpu } from './timing';
import { defaultClock } from '../gpu/profile';
import type { ProfileClock } from '../gpu/profile';
import { summarizeProfile } from './step-profile';
import type { StepProfile } from './step-profile';

export interface TrainBenchResult {
  model: string;
  batch: number;
  seq: number;
  r: number;
  targets: string;
  quant: BaseQuant;
  gradient_checkpointing: boolean;
  /** Matrix products round operands to f16 (GpuContext.matmulF16: every back end but scalar). */
  matmul_f16: boolean;
  /** The matrix-product back end (GpuContext.gemmBackend). */
  gemm_backend: string;
  /** The lm_head backward's split over the vocabulary (PassOptions.lmHeadSplitK): 1 unsplit, or its slices. */
  lm_head_split_k: number;
  /** Why the default back end was not used (its self-check failed), when that happened. */
  gemm_fallback?: string;
  /** How the products read NF4 weights (GpuContext.nf4Decode): in the tiles, or decoded into an f16 scratch first. */
  nf4_decode: GpuContext['nf4Decode'];
  /** null with allocOnly: buffers built, nothing run. */
  tokens_per_s: number | null;
  step_ms: number | null;
  tflops: number | null;
  peak_gpu_bytes: number;
  /** Queue submissions of the training pass (gpu/program.ts segments), and the longest one run alone. */
  submissions: number;
  max_submit_ms: number | null;
  /** Estimated FLOPs of the largest submission (gpu/program.ts SUBMISSION_FLOPS caps all but single dispatches), in G. */
  max_submit_gflop: number;
  /** Compute dispatches of one optimizer step: the training pass's program and the optimizer's. */
  dispatches_per_step: number;
  /** GPU→CPU maps (gpu/context.ts readbackCounter) inside one step: 0, the loss is read a step late. */
  readbacks_per_step: number;
  device: string;
}

export async function benchTraining(
  ctx: GpuContext, name: string, cfg: ModelConfig, host: HostModelWeights,
  o: {
    batch: number; seq: number; steps: number; lora: LoraSettings; quant: BaseQuant; checkpointing: boolean; allocOnly?: boolean; lmHeadSplitK?: number | 'auto';
    /** Also time one step dispatch by dispatch (step-profile.ts) with this clock ('auto': timestamps where offered). */
    profile?: ProfileClock | 'auto';
  },
): Promise<TrainBenchResult & { profile?: StepProfile }> {
  // timeGpu needs the step submitted synchronously: a paced context would submit it over time.
  if (ctx.pacedSubmission) throw new Error('benchTraining needs a context without paced submission');
  const weights = uploadModelWeights(ctx, cfg, host, Math.max(o.seq, 16));
  const layout = loraLayout(cfg, o.lora);
  const lora = createGpuLora(ctx, layout, initLoraParams(layout, 0));
  const pass = new ModelPass(ctx, weights, lora, o.batch, o.seq, true, { gradientCheckpointing: o.checkpointing, lmHeadSplitK: o.lmHeadSplitK });
  const optimizer = new AdamW(ctx, lora, DEFAULT_OPTIMIZER);
  const M = o.batch * o.seq;
  const ids = Int32Array.from({ length: M }, (_, i) => (i * 7919) % cfg.vocabSize);
  const targets = Int32Array.from({ length: M }, (_, i) => ((i + 1) * 7919) % cfg.vocabSize);
  // The trainer's step (Trainer.queueStep) without its late read: its outcome is only given back.
  const step = () => {
    void pass.run({ inputIds: ids, targets }, { gradScale: 1 / M, seed: 1 }); // unpaced: submits at once
    optimizer.recordLoss(0, pass.lossSumBuffer);
    optimizer.releaseStep(optimizer.step(1e-4, 1));
  };
  const mapsBefore = readbackCounter.maps;
  const ms = o.allocOnly ? null : await timeGpu(ctx, step, o.steps);
  // Recorded programs and queued copies cannot map a buffer, so a step built without running maps nothing.
  const readbacksPerStep = o.allocOnly ? 0 : (readbackCounter.maps - mapsBefore) / (o.steps + 1);
  const segments = o.allocOnly ? null : await pass.timeSubmissions({ inputIds: ids, targets }, { gradScale: 1 / M, seed: 1 });
  let profile: StepProfile | undefined;
  if (o.profile && !o.allocOnly) {
    const clock = o.profile === 'auto' ? defaultClock(ctx) : o.profile;
    const passTimes = await pass.timeEachStep({ inputIds: ids, targets }, { gradScale: 1 / M, seed: 1 }, clock);
    profile = summarizeProfile(clock, passTimes, await optimizer.timeEachStep(clock));
  }
  const result: TrainBenchResult & { profile?: StepProfile } = {
    model: name, batch: o.batch, seq: o.seq, r: o.lora.r, targets: o.lora.targets.join(','), quant: o.quant,
    gradient_checkpointing: o.checkpointing,
    matmul_f16: ctx.matmulF16,
    gemm_backend: ctx.gemmBackend,
    lm_head_split_k: pass.lmHeadSlices,
    ...(ctx.gemmFallback ? { gemm_fallback: ctx.gemmFallback } : {}),
    nf4_decode: ctx.nf4Decode,
    tokens_per_s: ms === null ? null : M / (ms / 1000),
    step_ms: ms,
    tflops: ms === null ? null : trainingStepFlops(cfg, o.batch, o.seq, o.lora) / (ms / 1000) / 1e12,
    peak_gpu_bytes: ctx.memory.peak,
    submissions: pass.submissions,
    dispatches_per_step: pass.program.dispatchCount + optimizer.dispatchCount,
    readbacks_per_step: readbacksPerStep,
    max_submit_ms: segments === null ? null : Math.max(...segments),
    max_submit_gflop: Math.max(...pass.program.segmentFlops) / 1e9,
    device: ctx.adapterDescription,
    ...(profile ? { profile } : {}),
  };
  pass.destroy();
  optimizer.destroy();
  destroyGpuLora(ctx, lora);
  destroyModelWeights(ctx, weights);
  return result;
}
