// The whole decoder as recorded GPU programs for one batch shape (B sequences × T tokens):
//   - a training pass: forward, loss, backward into the LoRA gradients (accumulating, so several
//     micro-batches can add up before one optimizer step);
//   - an evaluation pass: forward and loss only (optionally keeping the logits, for tests).
// The programs are recorded once per shape and replayed; each run only writes token ids, targets,
// the gradient scale and the dropout seed. The logits exist one chunk of rows at a time: the
// lm_head product, the cross-entropy (whose gradient overwrites the logits) and the backward product
// run chunk by chunk, so B×T×V floats are never held at once.
import type { ProfileClock, WorkTime } from '../gpu/profile';
import type { GpuContext } from '../gpu/context';
import { readF32, writeBuffer } from '../gpu/context';
import type { Binding } from '../gpu/program';
import { Program, Recorder, SUBMISSION_FLOPS } from '../gpu/program';
import { embeddingFwd } from '../gpu/ops/embedding';
import { linearFwd, linearBwd } from '../gpu/ops/matmul';
import { rmsnormFwd, rmsnormBwd } from '../gpu/ops/norm';
import { crossEntropy } from '../gpu/ops/loss';
import { reduceSum, reduceScratchFloats } from '../gpu/ops/optimizer';
import type { GpuModelWeights } from './gpu-weights';
import type { GpuLora } from './gpu-lora';
import type { Dims, DynamicInputs, LayerActs, LayerContext, BwdScratch } from './decoder-layer';
import {
  bwdScratchOf, bwdScratchPlan, dimsOf, layerActsOf, layerActsPlan, loraGrouped, modelMixers, nf4ScratchOf, nf4ScratchPlan, nf4ScratchWeights,
  recordLayerBackward, recordLayerForward,
} from './decoder-layer';
import type { PlannedBuffer } from './buffer-plan';
import { SHARED_GROUPS, allocPlan } from './buffer-plan';
import type { ModelConfig } from '../formats/model-config';
import type { LoraSettings } from './lora';
import { layerRope, layerWindow } from './gpu-weights';
import { layerMixer } from '../formats/checkpoint-names';
import { gdnScratchPlan } from './mixers/gated-delta-net';
import type { GdnScratch } from './mixers/gated-delta-net';
import { logitSoftcap } from '../gpu/ops/activation';
import { chooseSplitK, splitK } from '../gpu/gemm';
import type { SplitKOptions } from '../gpu/ops/matmul';

export interface PassOptions {
  /** Keep only each layer's input and recompute its activations in the backward pass. */
  gradientCheckpointing?: boolean;
  /** Bytes the logits chunk may take (rows are a multiple of 64 so bindings stay aligned). */
  logitsChunkBytes?: number;
  /** Evaluation only: keep the full logits [B*T, V] readable with readLogits(). */
  keepLogits?: boolean;
  /**
   * The lm_head backward split over the vocabulary (split-K): a slice count, or 'auto' for chooseSplitK's
   * rule (long vocabularies over few output tiles; never the test models'). Default 1, unsplit: the split
   * adds a reduce per logits chunk (+8 dispatches a step on Llama-3.2-1B at 8 × 512, past the speed
   * issue's 700) for a gain no GPU has measured yet; `npm run bench -- --lm-head-split-k auto` measures it.
   */
  lmHeadSplitK?: number | 'auto';
}

/** A batch as the GPU wants it: token ids and shifted targets (−100 = no loss), both [B*T]. */
export interface GpuBatch {
  inputIds: ArrayLike<number>;
  targets: ArrayLike<number>;
}

/** Bytes the logits chunk may take by default. */
export const DEFAULT_LOGITS_CHUNK_BYTES = 256 * 2 ** 20;

/**
 * Rows of logits computed at once: all of them when they fit, else a multiple of 64 (aligned bindings).
 * With the hidden size D, also few enough that one lm_head product (2·rows·V·D FLOPs) stays within a
 * submission's budget (gpu/program.ts SUBMISSION_FLOPS): Llama-3.2-1B's 512-row chunk was one
 * 269-GFLOP dispatch, ≈117 ms on the H200's scalar path; 256 rows halve it. Each row's logits, loss
 * and gradient are computed alone, so the chunking changes no value.
 */
export function logitsChunkRows(M: number, V: number, bytes = DEFAULT_LOGITS_CHUNK_BYTES, D = 0): number {
  const byFlops = D > 0 ? SUBMISSION_FLOPS / (2 * V * D) : Infinity;
  if (M * V * 4 <= bytes && M <= byFlops) return M;
  return Math.max(64, Math.floor(Math.min(bytes / (V * 4), byFlops) / 64) * 64);
}

/**
 * Slices the lm_head backward dx[rows, D] = dlogits[rows, V]·W[V, D] runs as (1: unsplit), for the
 * largest chunk; every chunk of the pass uses them. The partial scratch is slices × rows × D floats.
 */
export function lmHeadSplitSlices(rows: number, D: number, V: number, split: number | 'auto' = 1): number {
  return splitK(V, split === 'auto' ? chooseSplitK(rows, D, V) : split).slices;
}

/** What a pass's buffer plan depends on besides the model: its shape and options, and what the device and weights decide. */
export interface PassPlanSettings {
  readonly B: number;
  readonly T: number;
  readonly train: boolean;
  readonly opts: PassOptions;
  /** The adapter's settings; null without LoRA (full fine-tuning's estimate: no LoRA buffers). */
  readonly lora: LoraSettings | null;
  /** LoRA activations laid out per input group (decoder-layer.ts loraGrouped, a device property). */
  readonly loraGrouped: boolean;
  /** Weights the NF4 → f16 scratch holds (decoder-layer.ts nf4ScratchWeights), 0 for none. */
  readonly nf4ScratchWeights: number;
}

/** Every buffer a ModelPass allocates, as data: the pass allocates from it and the memory estimate sums it. */
export interface PassPlan {
  readonly dims: Dims;
  /** The pass's own: batch inputs, loss, the residual stream, the final norm, the logits chunk, backward's stream and split-K partials, the NF4 scratch. */
  readonly own: PlannedBuffer[];
  /** Kept activations: one set per layer (training without checkpointing), else one set every layer shares. */
  readonly acts: PlannedBuffer[][];
  /** The backward scratch every layer shares (none in evaluation). */
  readonly bwd: PlannedBuffer[];
  readonly logitsRows: number;
  readonly lmHeadSlices: number;
}

const G = SHARED_GROUPS;
const BWD_D = 'backward [M, D]';

export function passPlan(cfg: ModelConfig, s: PassPlanSettings): PassPlan {
  const dims = dimsOf(cfg, s.B, s.T);
  const { M, D } = dims;
  const V = cfg.vocabSize;
  const L = cfg.numLayers;
  const checkpointing = s.train && !!s.opts.gradientCheckpointing;
  const logitsRows = s.opts.keepLogits ? M : logitsChunkRows(M, V, s.opts.logitsChunkBytes, D);
  const lmHeadSlices = s.train ? lmHeadSplitSlices(logitsRows, D, V, s.opts.lmHeadSplitK) : 1;
  const own: PlannedBuffer[] = [
    ...['ids', 'targets', 'loss_rows'].map((name) => ({ name, floats: M, group: G.inputs })),
    ...['grad_scale', 'pos0', 'dropout_seed', 'loss_sum'].map((name) => ({ name, floats: 1, group: G.scalars })),
    { name: 'loss_reduce', floats: reduceScratchFloats(M), group: 'loss reduce scratch' },
    // The residual stream before each layer and after the last: inputs of the backward pass.
    ...Array.from({ length: L + 1 }, (_, i) => ({ name: `stream.${i}`, floats: M * D, group: G.stream })),
    { name: 'final_norm', floats: M * D, group: G.finalNorm },
    { name: 'final_rstd', floats: M, group: G.stats },
    { name: 'logits', floats: logitsRows * V, group: G.logits }, // counted apart from the activations by the estimate
    ...nf4ScratchPlan(s.nf4ScratchWeights), // one f16 buffer for the largest NF4 projection, reused by every layer
    // The Gated DeltaNet's work area (and in training its backward's gradients), shared by the linear layers.
    ...(dims.gdn && modelMixers(cfg).includes('gated_delta_net') ? gdnScratchPlan(dims.gdn, s.B, s.T, s.train).map((b) => ({ ...b, name: GDN_SCRATCH + b.name })) : []),
  ];
  if (s.train) {
    own.push({ name: 'd_final_norm', floats: M * D, group: BWD_D }, { name: 'd_stream', floats: M * D, group: BWD_D });
    // Split-K of the lm_head backward: one partial scratch [slices, rows, D] for every chunk.
    if (lmHeadSlices > 1) own.push({ name: 'lm_head_splitk_partial', floats: lmHeadSlices * logitsRows * D, group: 'lm_head split-K partial sums [S, rows, D]' });
    if (checkpointing) own.push({ name: 'recomputed_out', floats: M * D, group: 'recomputed layer output [M, D]' });
  }
  const perLayer = s.train && !checkpointing;
  const acts = perLayer
    ? Array.from({ length: L }, (_, i) => layerActsPlan(dims, s.lora, s.loraGrouped, [layerMixer(cfg, i).kind]))
    : [layerActsPlan(dims, s.lora, s.loraGrouped, modelMixers(cfg))];
  const bwd = s.train ? bwdScratchPlan(dims, s.lora, modelMixers(cfg)) : [];
  return { dims, own, acts, bwd, logitsRows, lmHeadSlices };
}

const GDN_SCRATCH = 'gdn.';

/** The Gated DeltaNet scratch among a pass's own buffers (gdnScratchPlan's names), null when the model has no linear layer. */
function gdnScratchOf(bufs: Readonly<Record<string, GPUBuffer>>): GdnScratch | null {
  const entries = Object.entries(bufs).filter(([name]) => name.startsWith(GDN_SCRATCH));
  return entries.length ? Object.fromEntries(entries.map(([name, b]) => [name.slice(GDN_SCRATCH.length), b])) : null;
}

/** Every buffer of a pass plan, in one list. */
export function passPlanBuffers(p: PassPlan): PlannedBuffer[] {
  return [...p.own, ...p.acts.flat(), ...p.bwd];
}

/** Buffers and program of one pass; destroy() frees everything it allocated. */
export class ModelPass {
  readonly dims: Dims;
  private readonly owned: GPUBuffer[] = [];
  private readonly ids: GPUBuffer;
  private readonly targets: GPUBuffer;
  private readonly gradScale: GPUBuffer;
  private readonly dyn: DynamicInputs;
  private readonly lossSum: GPUBuffer;
  private readonly logits: GPUBuffer;
  readonly program: Program;
  readonly logitsRows: number;
  /** Slices of the lm_head backward's split over the vocabulary (1: unsplit; PassOptions.lmHeadSplitK). */
  readonly lmHeadSlices: number;

  constructor(
    private readonly ctx: GpuContext,
    private readonly weights: GpuModelWeights,
    lora: GpuLora | null,
    B: number,
    T: number,
    readonly train: boolean,
    opts: PassOptions = {},
  ) {
    const cfg = weights.config;
    if (T > weights.rope.maxPos) throw new Error(`sequence length ${T} exceeds the RoPE table (${weights.rope.maxPos})`);
    if (train && !lora) throw new Error('a training pass needs LoRA parameters');
    const loraSettings = lora?.layout.settings ?? null;
    const nf4Weights = nf4ScratchWeights(ctx, weights.layers); // GpuContext.nf4Decode 'f16-scratch'
    const plan = passPlan(cfg, {
      B, T, train, opts, lora: loraSettings, loraGrouped: !!loraSettings && loraGrouped(ctx, loraSettings), nf4ScratchWeights: nf4Weights,
    });
    const d = (this.dims = plan.dims);
    const { M, D } = d;
    const V = cfg.vocabSize;
    const L = cfg.numLayers;
    const alloc = (p: readonly PlannedBuffer[], label: string) => {
      const bufs = allocPlan(ctx, p, label);
      this.owned.push(...Object.values(bufs));
      return bufs;
    };
    const b = alloc(plan.own, train ? 'train' : 'eval');
    this.ids = b.ids;
    this.targets = b.targets;
    this.gradScale = b.grad_scale;
    this.dyn = { pos: b.pos0, seed: b.dropout_seed };
    this.lossSum = b.loss_sum;
    const stream = Array.from({ length: L + 1 }, (_, i) => b[`stream.${i}`]);
    const sets = plan.acts.map((p, i) => layerActsOf(alloc(p, plan.acts.length > 1 ? `acts.${i}` : 'acts')));
    const acts: LayerActs[] = Array.from({ length: L }, (_, i) => sets[sets.length > 1 ? i : 0]);
    const nf4Scratch = nf4ScratchOf(ctx, b, nf4Weights);
    // The Gated DeltaNet's work area (and backward gradients), shared by the linear layers.
    const gdnScratch = gdnScratchOf(b);
    const layerCtx = (i: number): LayerContext => ({
      layer: i, w: weights.layers[i], lora, rope: layerRope(weights, i), window: layerWindow(cfg, i), dyn: this.dyn, train: this.train, nf4Scratch, gdn: gdnScratch,
    });
    const xnF = b.final_norm;
    const rstdF = b.final_rstd;
    this.logitsRows = plan.logitsRows;
    this.logits = b.logits;

    const rec = new Recorder(ctx);
    embeddingFwd(rec, stream[0], this.ids, weights.embed, M, weights.embedScale);
    for (let i = 0; i < L; i++) recordLayerForward(rec, layerCtx(i), d, stream[i], stream[i + 1], acts[i]);
    rmsnormFwd(rec, xnF, rstdF, stream[L], weights.finalNorm, M, D, d.eps, { wOffset: d.wOffset });
    const dxnF = this.train ? b.d_final_norm : null;
    const slices = plan.lmHeadSlices;
    this.lmHeadSlices = slices;
    const lmHeadSplit: SplitKOptions | undefined = slices > 1 ? { slices, partial: b.lm_head_splitk_partial } : undefined;
    const rows = (buf: GPUBuffer, r0: number, n: number, width: number): Binding => ({ buffer: buf, offset: r0 * width * 4, size: n * width * 4 });
    for (let r0 = 0; r0 < M; r0 += this.logitsRows) {
      const n = Math.min(this.logitsRows, M - r0);
      const logits: Binding = { buffer: this.logits, offset: 0, size: n * V * 4 };
      linearFwd(rec, logits, rows(xnF, r0, n, D), weights.lmHead, n);
      const cap = cfg.finalLogitSoftcap;
      if (cap) logitSoftcap(rec, logits, n * V, cap);
      crossEntropy(rec, rows(b.loss_rows, r0, n, 1), logits, rows(this.targets, r0, n, 1), this.gradScale, n, V, this.train, cap);
      if (dxnF) linearBwd(rec, rows(dxnF, r0, n, D), logits, weights.lmHead, n, { splitK: lmHeadSplit });
      rec.boundary();
    }
    reduceSum(rec, this.lossSum, b.loss_rows, M, b.loss_reduce, false);
    if (this.train) {
      const dh = b.d_stream;
      const scratch: BwdScratch = bwdScratchOf(alloc(plan.bwd, 'bwd'));
      const recomputed = b.recomputed_out ?? null;
      rmsnormBwd(rec, dh, dxnF!, stream[L], weights.finalNorm, rstdF, M, D, 0, d.wOffset);
      for (let i = L - 1; i >= 0; i--) {
        if (recomputed) recordLayerForward(rec, layerCtx(i), d, stream[i], recomputed, acts[i]);
        recordLayerBackward(rec, layerCtx(i), d, stream[i], dh, acts[i], scratch, i > 0);
      }
    }
    this.program = rec.finish(this.train ? `train ${B}x${T}` : `eval ${B}x${T}`);
  }

  /**
   * Writes the batch and submits the pass. gradScale = 1 / (targets counted in the whole optimizer
   * step), so gradients of several micro-batches add up to the gradient of their mean loss.
   */
  async run(batch: GpuBatch, opts: { gradScale?: number; seed?: number } = {}): Promise<void> {
    this.write(batch, opts);
    if (this.ctx.pacedSubmission) await this.program.submitPaced();
    else this.program.submit();
  }

  /** Queue submissions per run (see gpu/program.ts: a segment per layer block and logits chunk). */
  get submissions(): number {
    return this.program.segmentCount;
  }

  /** Runs `batch` segment by segment, each timed alone: what a paced run can make others wait. */
  async timeSubmissions(batch: GpuBatch, opts: { gradScale?: number; seed?: number } = {}): Promise<number[]> {
    this.write(batch, opts);
    return this.program.timeSegments();
  }

  /** Runs `batch` with every dispatch timed on its own (gpu/profile.ts): the bench's step profile. */
  async timeEachStep(batch: GpuBatch, opts: { gradScale?: number; seed?: number }, clock: ProfileClock): Promise<WorkTime[]> {
    this.write(batch, opts);
    return this.program.timeEachStep(clock);
  }

  private write(batch: GpuBatch, opts: { gradScale?: number; seed?: number }): void {
    const { M } = this.dims;
    if (batch.inputIds.length !== M || batch.targets.length !== M) {
      throw new Error(`batch has ${batch.inputIds.length} ids / ${batch.targets.length} targets, pass expects ${M}`);
    }
    writeBuffer(this.ctx, this.ids, 0, Uint32Array.from(batch.inputIds));
    writeBuffer(this.ctx, this.targets, 0, Int32Array.from(batch.targets));
    writeBuffer(this.ctx, this.gradScale, 0, new Float32Array([opts.gradScale ?? 0]));
    writeBuffer(this.ctx, this.dyn.seed, 0, new Uint32Array([opts.seed ?? 0]));
  }

  /** f32 [1]: Σ of the per-token losses of the last run, on the GPU (the trainer's AdamW gates on it). */
  get lossSumBuffer(): GPUBuffer {
    return this.lossSum;
  }

  /** Σ of the per-token losses of the last run. */
  async readLossSum(): Promise<number> {
    return (await readF32(this.ctx, this.lossSum, 0, 1))[0];
  }

  async readLogits(): Promise<Float32Array> {
    return readF32(this.ctx, this.logits, 0, this.logitsRows * this.weights.config.vocabSize);
  }

  destroy(): void {
    for (const b of this.owned) this.ctx.destroyBuffer(b);
    this.program.destroy();
  }
}
