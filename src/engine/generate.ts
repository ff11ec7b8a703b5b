// Text generation with a cache per layer (generation-cache.ts: keys/values for attention, conv history and
// recurrent state for Gated DeltaNet): one recorded program for the prompt (prefill, T = prompt length)
// and one for each new token (T = 1), both writing keys/values into the caches at the position
// held in a small buffer, so every decode step replays the same program. Greedy or sampled
// (temperature, top-p) on the CPU from the last position's logits; with or without the adapter.
import type { GpuContext } from '../gpu/context';
import { readF32, writeBuffer } from '../gpu/context';
import { Recorder } from '../gpu/program';
import type { Program } from '../gpu/program';
import { embeddingFwd } from '../gpu/ops/embedding';
import { linearFwd } from '../gpu/ops/matmul';
import { rmsnormFwd } from '../gpu/ops/norm';
import type { GpuModelWeights } from './gpu-weights';
import { layerRope, layerWindow } from './gpu-weights';
import { logitSoftcap } from '../gpu/ops/activation';
import type { GpuLora } from './gpu-lora';
import type { DynamicInputs } from './decoder-layer';
import {
  dimsOf, layerActsOf, layerActsPlan, loraGrouped, modelMixers, nf4ScratchOf, nf4ScratchPlan, nf4ScratchWeights, recordLayerForward,
} from './decoder-layer';
import type { PlannedBuffer } from './buffer-plan';
import { SHARED_GROUPS, allocPlan } from './buffer-plan';
import type { ModelConfig } from '../formats/model-config';
import type { LoraSettings } from './lora';
import { createRng } from '../data/rng';
import type { SeededRng } from '../data/rng';
import { QloraError } from '../errors';
import type { LayerGenerationCache } from './generation-cache';
import { layerCacheOf, layerCachePlan, resetGenerationCaches } from './generation-cache';

export interface GenerateOptions {
  maxNewTokens: number;
  greedy?: boolean; // default true
  temperature?: number; // default 1
  topP?: number; // default 1
  seed?: number;
  /** Stop at any of these ids (unless ignoreEos). */
  eosTokenIds?: readonly number[];
  ignoreEos?: boolean;
  /** Called with each new id as soon as it is known (streaming). */
  onToken?: (id: number) => void;
  /** Return false to stop early (a Stop button). */
  shouldContinue?: () => boolean;
}

/** What an InferencePass allocates besides its activations: the two streams it alternates, the last row, its norm, the NF4 scratch. */
export function inferencePassPlan(cfg: ModelConfig, T: number, nf4Weights: number): PlannedBuffer[] {
  const D = cfg.hiddenSize;
  return [
    { name: 'stream0', floats: T * D, group: SHARED_GROUPS.stream },
    { name: 'stream1', floats: T * D, group: SHARED_GROUPS.stream },
    { name: 'last', floats: D, group: SHARED_GROUPS.finalNorm },
    { name: 'last_norm', floats: D, group: SHARED_GROUPS.finalNorm },
    { name: 'rstd', floats: 1, group: SHARED_GROUPS.stats },
    ...nf4ScratchPlan(nf4Weights), // GpuContext.nf4Decode 'f16-scratch'
  ];
}

/** An InferencePass's activations: one set every layer reuses (nothing is kept for a backward pass). */
export function inferenceActsPlan(cfg: ModelConfig, T: number, lora: LoraSettings | null, grouped: boolean): PlannedBuffer[] {
  return layerActsPlan(dimsOf(cfg, 1, T), lora, grouped, modelMixers(cfg));
}

/** What a Generator allocates up front: each layer's cache (named `<layer>.<buffer>`), the position, seed, ids and logits. */
export function generatorPlan(cfg: ModelConfig, capacity: number): PlannedBuffer[] {
  return [
    ...cfg.layerTypes.flatMap((_, i) => layerCachePlan(cfg, i, capacity).map((b) => ({ ...b, name: `${i}.${b.name}` }))),
    { name: 'pos', floats: 1, group: SHARED_GROUPS.scalars },
    { name: 'seed', floats: 1, group: SHARED_GROUPS.scalars },
    { name: 'ids', floats: capacity, group: SHARED_GROUPS.inputs },
    { name: 'logits', floats: cfg.vocabSize, group: SHARED_GROUPS.logits },
  ];
}

/** One forward over T new positions of one sequence, appending to the cache; logits of the last one. */
class InferencePass {
  readonly program: Program;
  private readonly owned: GPUBuffer[];

  constructor(ctx: GpuContext, w: GpuModelWeights, lora: GpuLora | null, T: number, caches: readonly LayerGenerationCache[], dyn: DynamicInputs, ids: GPUBuffer, logits: GPUBuffer) {
    const cfg = w.config;
    const d = dimsOf(cfg, 1, T);
    const settings = lora?.layout.settings ?? null;
    const nf4Weights = nf4ScratchWeights(ctx, w.layers);
    const b = allocPlan(ctx, inferencePassPlan(cfg, T, nf4Weights), 'gen');
    const actBufs = allocPlan(ctx, inferenceActsPlan(cfg, T, settings, !!settings && loraGrouped(ctx, settings)), 'gen.acts');
    this.owned = [...Object.values(b), ...Object.values(actBufs)];
    const acts = layerActsOf(actBufs);
    const ping = [b.stream0, b.stream1];
    const nf4Scratch = nf4ScratchOf(ctx, b, nf4Weights);
    const rec = new Recorder(ctx);
    embeddingFwd(rec, ping[0], ids, w.embed, T, w.embedScale);
    for (let i = 0; i < cfg.numLayers; i++) {
      const layerCtx = { layer: i, w: w.layers[i], lora, rope: layerRope(w, i), window: layerWindow(cfg, i), dyn, train: false, nf4Scratch };
      recordLayerForward(rec, layerCtx, d, ping[i % 2], ping[(i + 1) % 2], acts, caches[i]);
    }
    rec.copy(ping[cfg.numLayers % 2], (T - 1) * d.D * 4, b.last, 0, d.D * 4);
    rmsnormFwd(rec, b.last_norm, b.rstd, b.last, w.finalNorm, 1, d.D, d.eps, { wOffset: d.wOffset });
    linearFwd(rec, logits, b.last_norm, w.lmHead, 1);
    if (cfg.finalLogitSoftcap) logitSoftcap(rec, logits, cfg.vocabSize, cfg.finalLogitSoftcap);
    this.program = rec.finish(`generate T=${T}`);
  }

  destroy(ctx: GpuContext): void {
    for (const b of this.owned) ctx.destroyBuffer(b);
    this.program.destroy();
  }
}

export class Generator {
  private readonly caches: LayerGenerationCache[];
  private readonly dyn: DynamicInputs;
  private readonly ids: GPUBuffer;
  private readonly logits: GPUBuffer;
  private readonly owned: GPUBuffer[];
  private readonly passes = new Map<number, InferencePass>();

  /** `capacity`: the longest prompt + new tokens this generator will hold. */
  constructor(private readonly ctx: GpuContext, private readonly w: GpuModelWeights, private readonly lora: GpuLora | null, readonly capacity: number) {
    const cfg = w.config;
    if (capacity > w.rope.maxPos) throw new QloraError('ARGUMENT_INVALID', `Generation length ${capacity} exceeds the model's position table (${w.rope.maxPos}).`);
    const b = allocPlan(ctx, generatorPlan(cfg, capacity), 'gen');
    this.owned = Object.values(b);
    this.caches = cfg.layerTypes.map((_, i) => layerCacheOf(b, i, capacity));
    this.dyn = { pos: b.pos, seed: b.seed };
    this.ids = b.ids;
    this.logits = b.logits;
  }

  private pass(T: number): InferencePass {
    let p = this.passes.get(T);
    if (!p) {
      p = new InferencePass(this.ctx, this.w, this.lora, T, this.caches, this.dyn, this.ids, this.logits);
      this.passes.set(T, p);
    }
    return p;
  }

  /** Logits after feeding `ids` at positions pos0.. (appending them to the cache). */
  private async forward(ids: number[], pos0: number): Promise<Float32Array> {
    writeBuffer(this.ctx, this.ids, 0, Uint32Array.from(ids));
    writeBuffer(this.ctx, this.dyn.pos, 0, new Uint32Array([pos0]));
    this.pass(ids.length).program.submit();
    return readF32(this.ctx, this.logits, 0, this.w.config.vocabSize);
  }

  /** New token ids after `prompt` (the prompt itself is not returned). */
  async generate(prompt: readonly number[], o: GenerateOptions): Promise<number[]> {
    if (prompt.length === 0) throw new QloraError('ARGUMENT_INVALID', 'The prompt is empty.');
    const total = prompt.length + o.maxNewTokens;
    if (total > this.capacity) throw new QloraError('ARGUMENT_INVALID', `Prompt (${prompt.length}) + new tokens (${o.maxNewTokens}) exceed the generator's capacity ${this.capacity}.`);
    const rng = createRng(o.seed ?? 0);
    const out: number[] = [];
    resetGenerationCaches(this.ctx, this.caches); // a recurrent layer's state continues from whatever it holds
    let logits = await this.forward([...prompt], 0);
    for (let i = 0; i < o.maxNewTokens; i++) {
      const next = o.greedy ?? true ? argmax(logits) : sample(logits, o.temperature ?? 1, o.topP ?? 1, rng);
      out.push(next);
      o.onToken?.(next);
      if (!o.ignoreEos && o.eosTokenIds?.includes(next)) break;
      if (i + 1 === o.maxNewTokens || (o.shouldContinue && !o.shouldContinue())) break;
      logits = await this.forward([next], prompt.length + i);
    }
    return out;
  }

  destroy(): void {
    for (const p of this.passes.values()) p.destroy(this.ctx);
    for (const b of this.owned) this.ctx.destroyBuffer(b);
  }
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Temperature, then nucleus (top-p) sampling as transformers' TopPLogitsWarper. */
export function sample(logits: ArrayLike<number>, temperature: number, topP: number, rng: SeededRng): number {
  if (!(temperature > 0)) return argmax(logits);
  const n = logits.length;
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, logits[i] / temperature);
  const probs = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) z += probs[i] = Math.exp(logits[i] / temperature - m);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b] - probs[a]);
  let kept = 0;
  let cum = 0;
  for (const i of order) {
    cum += probs[i] / z;
    kept++;
    if (cum >= topP) break;
  }
  const keep = order.slice(0, kept);
  const mass = keep.reduce((s, i) => s + probs[i], 0);
  let u = rng.nextFloat() * mass;
  for (const i of keep) {
    u -= probs[i];
    if (u <= 0) return i;
  }
  return keep[keep.length - 1];
}
