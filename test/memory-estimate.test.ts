// The memory estimate against what the engine really allocates: the tiny models' weights, LoRA state,
// AdamW and a training (and evaluation) pass are created on a GPU context whose storage buffers are
// counted; the estimate (the sum of the buffer plans the engine allocates from) must match them, and
// generation's allocations its plans. Uniform blocks are counted apart (the estimate leaves them
// out) and shown to be small next to the real thing. Then the fit check's messages.
import { describe, it, expect, beforeAll } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { USAGE } from '../src/gpu/context';
import { readModelFiles } from '../src/io/model-files';
import type { LoadedModelFiles } from '../src/io/model-files';
import { dirReader } from '../src/io/node-files';
import { prepareBaseWeights } from '../src/engine/base-weights';
import type { BaseQuant } from '../src/engine/base-weights';
import { uploadModelWeights, destroyModelWeights } from '../src/engine/gpu-weights';
import { createGpuLora, destroyGpuLora } from '../src/engine/gpu-lora';
import { AdamW, DEFAULT_OPTIMIZER } from '../src/engine/optimizer';
import { ModelPass } from '../src/engine/causal-lm';
import { LORA_MODULES, loraLayout, initLoraParams } from '../src/engine/lora';
import type { LoraSettings } from '../src/engine/lora';
import { f32ArrayToF16 } from '../src/formats/half';
import { parseModelConfig } from '../src/formats/model-config';
import {
  checkFits, estimate16bitLoraMemory, estimateFullFinetuneMemory, estimateTrainingMemory, modelParameterCount, nf4WeightBytes,
} from '../src/engine/memory-estimate';
import { logitsChunkRows } from '../src/engine/causal-lm';
import type { TrainingMemorySettings } from '../src/engine/memory-estimate';
import { gpu } from './helpers/gpu';
import { readFileSync } from 'node:fs';
import { randomModel } from '../src/bench/random-weights';
import type { HostModelWeights } from '../src/engine/base-weights';
import type { ModelConfig } from '../src/formats/model-config';
import { FIXTURES } from './helpers/golden';
import { Generator, generatorPlan, inferenceActsPlan, inferencePassPlan } from '../src/engine/generate';
import type { GpuModelWeights } from '../src/engine/gpu-weights';
import { loraGrouped } from '../src/engine/decoder-layer';
import { planBytes } from '../src/engine/buffer-plan';

/** A view of ctx counting storage buffers (what the estimate covers) and uniform blocks apart. */
function countingContext(ctx: GpuContext) {
  const sizes = new Map<GPUBuffer, { bytes: number; uniform: boolean }>();
  const stats = { storage: 0, storagePeak: 0, uniform: 0, largest: 0 };
  const counted: GpuContext = {
    ...ctx,
    createBuffer(bytes, usage, label) {
      const b = ctx.createBuffer(bytes, usage, label);
      const uniform = (usage & USAGE.UNIFORM) !== 0;
      sizes.set(b, { bytes: b.size, uniform });
      if (uniform) stats.uniform += b.size;
      else if (label !== 'dummy') {
        stats.storage += b.size;
        stats.storagePeak = Math.max(stats.storagePeak, stats.storage);
        stats.largest = Math.max(stats.largest, b.size);
      }
      return b;
    },
    destroyBuffer(b) {
      const s = sizes.get(b);
      if (s && !s.uniform) stats.storage -= s.bytes;
      sizes.delete(b);
      ctx.destroyBuffer(b);
    },
  };
  return { counted, stats };
}

interface Case {
  name: string;
  /** A fixture model, or tiny-gemma3's / tiny-llama's shape with a 262,144 / 32,768-token vocabulary and random weights (bf16 embeddings). */
  model: 'tiny-llama' | 'tiny-qwen2' | 'tiny-qwen3' | 'tiny-gemma3' | 'tiny-qwen3_5' | 'gemma3-vocab262k' | 'llama-vocab32k';
  /** The lm_head backward's split-K partial sums the estimate must list (lmHeadSplitK: a count, or 'auto' for chooseSplitK), if any. */
  splitPartialBytes?: number;
  settings: TrainingMemorySettings;
  /** Store the embedding / lm_head as f16, as a checkpoint saved in F16 would be. */
  f16Embed?: boolean;
}

const lora = (over: Partial<LoraSettings> = {}): LoraSettings => ({ r: 8, alpha: 16, dropout: 0.05, targets: LORA_MODULES, rslora: false, ...over });

const CASES: Case[] = [
  {
    name: 'QLoRA, all targets, dropout, no checkpointing',
    model: 'tiny-llama',
    settings: { quant: 'nf4', embedDtypeBytes: 4, batchSize: 2, seqLen: 64, lora: lora(), gradientCheckpointing: false },
  },
  {
    name: 'f16 base, q/v only, no dropout, checkpointing, chunked logits, f16 embedding',
    model: 'tiny-llama',
    f16Embed: true,
    settings: {
      quant: 'f16', embedDtypeBytes: 2, batchSize: 3, seqLen: 40, lora: lora({ r: 4, dropout: 0, targets: ['q_proj', 'v_proj'] }),
      gradientCheckpointing: true, logitsChunkBytes: 64 * 512 * 4,
    },
  },
  {
    name: 'f32 base, tied embeddings and q/k/v biases, with an evaluation pass',
    model: 'tiny-qwen2',
    settings: { quant: 'f32', embedDtypeBytes: 4, batchSize: 4, seqLen: 33, lora: lora({ r: 16 }), gradientCheckpointing: false, evaluation: true },
  },
  {
    name: 'QLoRA on Qwen3 (q/k norms, head_dim 32 on hidden 64), dropout, with an evaluation pass',
    model: 'tiny-qwen3',
    settings: { quant: 'nf4', embedDtypeBytes: 4, batchSize: 2, seqLen: 30, lora: lora(), gradientCheckpointing: false, evaluation: true },
  },
  {
    name: 'QLoRA on Gemma 3 (four norms a layer, q/k norms, two RoPE tables), checkpointing',
    model: 'tiny-gemma3',
    settings: { quant: 'nf4', embedDtypeBytes: 4, batchSize: 2, seqLen: 40, lora: lora({ r: 4 }), gradientCheckpointing: true },
  },
  {
    name: 'Gemma 3 shape with a 262,144-token vocabulary (bf16 embedding): logits in chunks, the lm_head backward split by the rule',
    model: 'gemma3-vocab262k',
    settings: { quant: 'nf4', embedDtypeBytes: 2, batchSize: 2, seqLen: 80, lora: lora({ targets: ['q_proj', 'v_proj'] }), gradientCheckpointing: false, logitsChunkBytes: 64 * 262144 * 4, lmHeadSplitK: 'auto' },
    // 64-row chunks of a 64-wide hidden state: one output tile over K = 262,144, so 64 slices of 4096.
    splitPartialBytes: 64 * 64 * 64 * 4,
  },
  {
    name: 'tiny-llama shape with a 32,768-token vocabulary: the lm_head backward split over it (training pass only)',
    model: 'llama-vocab32k',
    // 128 rows × 64 wide: 2 tiles of 64 over K = 32,768, so 8 slices of 4096 (the evaluation pass has no backward).
    settings: { quant: 'nf4', embedDtypeBytes: 2, batchSize: 2, seqLen: 64, lora: lora(), gradientCheckpointing: false, evaluation: true, lmHeadSplitK: 'auto' },
    splitPartialBytes: 8 * 128 * 64 * 4,
  },
  {
    name: 'tiny-llama with its lm_head backward forced into 3 slices (PassOptions.lmHeadSplitK), chunked logits',
    model: 'tiny-llama',
    settings: { quant: 'nf4', embedDtypeBytes: 4, batchSize: 3, seqLen: 40, lora: lora(), gradientCheckpointing: false, logitsChunkBytes: 64 * 512 * 4, lmHeadSplitK: 3 },
    splitPartialBytes: 3 * 64 * 64 * 4,
  },
  {
    name: "QLoRA with nf4Decode 'f16-scratch' (a decode scratch per pass), dropout, with an evaluation pass",
    model: 'tiny-llama',
    settings: { quant: 'nf4', embedDtypeBytes: 4, batchSize: 2, seqLen: 64, lora: lora(), gradientCheckpointing: false, evaluation: true, nf4Decode: 'f16-scratch' },
  },
  {
    name: "QLoRA on Gemma 3 with nf4Decode 'f16-scratch', checkpointing",
    model: 'tiny-gemma3',
    settings: { quant: 'nf4', embedDtypeBytes: 4, batchSize: 2, seqLen: 40, lora: lora({ r: 4 }), gradientCheckpointing: true, nf4Decode: 'f16-scratch' },
  },
  {
    name: "f16 base with nf4Decode 'f16-scratch': nothing to decode, no scratch",
    model: 'tiny-qwen3',
    settings: { quant: 'f16', embedDtypeBytes: 4, batchSize: 1, seqLen: 20, lora: lora({ dropout: 0 }), gradientCheckpointing: false, nf4Decode: 'f16-scratch' },
  },
  {
    name: 'QLoRA on Qwen2 (GQA 4:1), checkpointing',
    model: 'tiny-qwen2',
    settings: { quant: 'nf4', embedDtypeBytes: 4, batchSize: 1, seqLen: 100, lora: lora({ targets: ['gate_proj', 'up_proj', 'down_proj'] }), gradientCheckpointing: true },
  },
  {
    name: 'QLoRA on Qwen3.5 (Gated DeltaNet layers with per-chunk states over 2 chunks, gated attention), all twelve targets, dropout, with an evaluation pass',
    model: 'tiny-qwen3_5',
    settings: { quant: 'nf4', embedDtypeBytes: 4, batchSize: 2, seqLen: 70, lora: lora(), gradientCheckpointing: false, evaluation: true },
  },
  {
    name: 'LoRA on Qwen3.5, grouped LoRA (no dropout), checkpointing',
    model: 'tiny-qwen3_5',
    settings: { quant: 'f32', embedDtypeBytes: 4, batchSize: 1, seqLen: 33, lora: lora({ dropout: 0 }), gradientCheckpointing: true },
  },
];

describe('estimateTrainingMemory matches the engine allocations', () => {
  let ctx: GpuContext;
  const files = new Map<string, LoadedModelFiles>();
  beforeAll(async () => {
    ctx = await gpu();
    for (const m of ['tiny-llama', 'tiny-qwen2', 'tiny-qwen3', 'tiny-gemma3', 'tiny-qwen3_5']) files.set(m, await readModelFiles(dirReader(`${FIXTURES}${m}/`)));
  });

  /** The config and host weights of a case: a fixture's, or random ones for the big-vocabulary shape. */
  function caseModel(c: Case): { config: ModelConfig; host: HostModelWeights } {
    if (c.model === 'gemma3-vocab262k' || c.model === 'llama-vocab32k') {
      const [fixture, vocab] = c.model === 'gemma3-vocab262k' ? ['tiny-gemma3', 262144] : ['tiny-llama', 32768];
      const config = parseModelConfig({ ...JSON.parse(readFileSync(`${FIXTURES}${fixture}/config.json`, 'utf8')), vocab_size: vocab });
      return { config, host: randomModel(config, c.settings.quant as BaseQuant) };
    }
    const { config, tensors } = files.get(c.model)!;
    return { config, host: prepareBaseWeights(tensors, config, c.settings.quant as BaseQuant) };
  }

  for (const c of CASES) {
    it(c.name, () => {
      const { config, host } = caseModel(c);
      const s = c.settings;
      if (c.f16Embed) {
        const toF16 = (w: typeof host.embed) => ({ format: 'f16' as const, rows: w.rows, cols: w.cols, data: f32ArrayToF16(w.data as Float32Array) });
        host.embed = toF16(host.embed);
        if (host.lmHead) host.lmHead = toF16(host.lmHead);
      }
      const { counted, stats } = countingContext(ctx);
      const peakBefore = ctx.memory.peak;
      const inUseBefore = ctx.memory.inUse;
      const weights = uploadModelWeights(counted, config, host);
      const layout = loraLayout(config, s.lora);
      const gl = createGpuLora(counted, layout, initLoraParams(layout, 1));
      const opt = new AdamW(counted, gl, DEFAULT_OPTIMIZER);
      // GpuContext.nf4Decode is what the passes read; the estimate gets it as a setting.
      const passCtx: GpuContext = s.nf4Decode ? { ...counted, nf4Decode: s.nf4Decode } : counted;
      const pass = new ModelPass(passCtx, weights, gl, s.batchSize, s.seqLen, true, {
        gradientCheckpointing: s.gradientCheckpointing, logitsChunkBytes: s.logitsChunkBytes, lmHeadSplitK: s.lmHeadSplitK,
      });
      const evalPass = s.evaluation ? new ModelPass(passCtx, weights, gl, s.batchSize, s.seqLen, false, { logitsChunkBytes: s.logitsChunkBytes }) : null;
      const realStorage = stats.storagePeak;
      const realAll = ctx.memory.inUse - inUseBefore;
      const peakGrowth = ctx.memory.peak - peakBefore;
      evalPass?.destroy();
      pass.destroy();
      opt.destroy();
      destroyGpuLora(counted, gl);
      destroyModelWeights(counted, weights);
      expect(stats.storage).toBe(0); // everything counted was freed

      const e = estimateTrainingMemory(config, s);
      // The split-K partials where the lm_head backward splits, and nowhere else (no fixture model by the rule).
      expect(e.breakdown.find((b) => b.label.includes('split-K'))?.bytes).toBe(c.splitPartialBytes);
      // Storage buffers: exact (the estimate is the same buffer list).
      expect(e.total).toBe(realStorage);
      expect(e.largestBuffer.bytes).toBe(stats.largest);
      expect(e.base).toBe(weights.bytes);
      expect(e.base + e.lora + e.optimizer + e.activations + e.logits).toBe(e.total);
      expect(e.breakdown.reduce((a, b) => a + b.bytes, 0)).toBe(e.total);
      // Everything ctx.memory saw, uniform blocks included: the estimate is within 15% on these tiny
      // shapes (hundreds of 256-byte uniform slots next to kilobytes of activations), and below it.
      expect(realAll - stats.uniform).toBeGreaterThanOrEqual(e.total);
      expect(realAll - stats.uniform - e.total).toBeLessThanOrEqual(16); // the dummy binding, once per context
      expect(e.total / realAll).toBeGreaterThan(0.85);
      if (peakGrowth > 0) expect(peakGrowth).toBeLessThanOrEqual(realAll);
    });
  }
});

describe('generation allocates what its buffer plans list', () => {
  // The KV caches and inputs (generatorPlan), then per prompt length an InferencePass: its own buffers and one set of activations.
  for (const [model, nf4Decode, withLora] of [['tiny-llama', 'f16-scratch', true], ['tiny-qwen3', 'in-tile', false]] as const) {
    it(`${model}, nf4Decode '${nf4Decode}', ${withLora ? 'with' : 'without'} an adapter`, async () => {
      const ctx = await gpu();
      const files = await readModelFiles(dirReader(`${FIXTURES}${model}/`));
      const weights = uploadModelWeights(ctx, files.config, prepareBaseWeights(files.tensors, files.config, 'nf4'));
      const settings = lora({ r: 4, dropout: 0 });
      const layout = loraLayout(files.config, settings);
      const gl = withLora ? createGpuLora(ctx, layout, initLoraParams(layout, 1)) : null;
      const { counted, stats } = countingContext({ ...ctx, nf4Decode });
      const gen = new Generator(counted, weights, gl, 8);
      await gen.generate([1, 2, 3], { maxNewTokens: 2, ignoreEos: true }); // passes of T = 3 (prompt) and T = 1
      const held = stats.storage;
      gen.destroy();
      expect(stats.storage).toBe(0);
      const cfg = files.config;
      const nf4 = nf4Decode === 'f16-scratch' ? largestNf4(weights) : 0;
      const grouped = withLora && loraGrouped(counted, settings);
      const pass = (T: number) => planBytes(inferencePassPlan(cfg, T, nf4)) + planBytes(inferenceActsPlan(cfg, T, withLora ? settings : null, grouped));
      expect(held).toBe(planBytes(generatorPlan(cfg, 8)) + pass(3) + pass(1));
      if (gl) destroyGpuLora(ctx, gl);
      destroyModelWeights(ctx, weights);
    });
  }
});

/** The most weights of one NF4 projection of the model (what the f16 scratch holds). */
function largestNf4(w: GpuModelWeights): number {
  return Math.max(...w.layers.flatMap((l) => Object.values(l.proj).map((p) => p!.rows * p!.cols)));
}

// A Llama-3-8B-shaped config for the arithmetic checks (no weights needed).
const LLAMA3_8B = parseModelConfig({
  architectures: ['LlamaForCausalLM'], hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32,
  num_key_value_heads: 8, vocab_size: 128256, max_position_embeddings: 8192, rope_theta: 500000, tie_word_embeddings: false,
});
const RUN_8B: TrainingMemorySettings = { quant: 'nf4', embedDtypeBytes: 2, batchSize: 4, seqLen: 512, lora: lora({ r: 16 }), gradientCheckpointing: false };

// Gemma-3-270M and Qwen3-0.6B as their Hub configs describe them (parameter counts from transformers).
const GEMMA3_270M = parseModelConfig({
  architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18,
  num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256, vocab_size: 262144, sliding_window: 512, max_position_embeddings: 32768,
  query_pre_attn_scalar: 256, rope_theta: 1_000_000, rope_local_base_freq: 10_000,
});
const QWEN3_06B = parseModelConfig({
  architectures: ['Qwen3ForCausalLM'], hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16,
  num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, tie_word_embeddings: true, max_position_embeddings: 40960, rope_theta: 1_000_000,
});

describe('memory arithmetic', () => {
  it('Gemma-3-270M (262k vocabulary) and Qwen3-0.6B: parameter counts as transformers, the bf16 embedding the largest buffer', () => {
    expect(modelParameterCount(GEMMA3_270M)).toBe(268_098_176);
    expect(modelParameterCount(QWEN3_06B)).toBe(596_049_920);
    const run: TrainingMemorySettings = { quant: 'nf4', embedDtypeBytes: 2, batchSize: 8, seqLen: 512, lora: lora({ r: 16 }), gradientCheckpointing: true };
    const e = estimateTrainingMemory(GEMMA3_270M, run);
    expect(e.largestBuffer).toEqual({ label: 'embedding', bytes: 262144 * 640 * 2 }); // 320 MiB, tied: no lm_head copy
    // The logits exist 256 rows at a time (256 MiB), never [4096, 262144] floats (4 GiB) at once.
    expect(e.breakdown.find((b) => b.label === 'logits chunk [rows, V]')?.bytes).toBe(256 * 262144 * 4);
    expect(e.logits).toBe(256 * 262144 * 4);
    // Two RoPE tables (sliding and full layers differ), 4096 rows × 128 pairs × 4 bytes each, cos and sin.
    expect(e.breakdown.find((b) => b.label === 'RoPE tables')?.bytes).toBe(4 * 4096 * 128 * 4);
    expect(e.total / 2 ** 30).toBeLessThan(2);
  });

  it('NF4 bytes: packed n/2 + one code per 64 + an f32 per 256 codes + the 1 KiB map', () => {
    // 4096×4096: 8 MiB packed, 262144 codes, 1024 nested f32 = 4096 bytes, 1024 map.
    expect(nf4WeightBytes(4096 * 4096)).toBe(8 * 2 ** 20 + 262144 + 4096 + 1024);
    // 7 values: 4 bytes packed (3.5 rounded to a buffer of 4), 1 code (4), 1 nested (4), map.
    expect(nf4WeightBytes(7)).toBe(4 + 4 + 4 + 1024);
  });

  it('logits chunk rows follow causal-lm.ts: all rows when they fit, else multiples of 64', () => {
    expect(logitsChunkRows(100, 512, 100 * 512 * 4)).toBe(100);
    expect(logitsChunkRows(2048, 128256)).toBe(512); // 256 MiB / (128256·4) = 523.3 rows → 512
    expect(logitsChunkRows(2048, 10_000_000)).toBe(64); // never fewer than 64
    // with the hidden size, one lm_head product per submission budget: Llama-3.2-1B (D 2048) gets 256 rows
    expect(logitsChunkRows(4096, 128256, undefined, 2048)).toBe(256);
    expect(logitsChunkRows(100, 512, 100 * 512 * 4, 64)).toBe(100);
  });

  it('Llama-3-8B QLoRA: NF4 base ≈ 5.3 GiB with f16 embedding and lm_head, LoRA r=16 = 42M params', () => {
    const e = estimateTrainingMemory(LLAMA3_8B, RUN_8B);
    const layout = loraLayout(LLAMA3_8B, RUN_8B.lora);
    expect(layout.parameterCount).toBe(41_943_040); // PEFT's print_trainable_parameters for this config
    expect(e.lora).toBe(2 * layout.totalFloats * 4);
    // 6.98e9 projection weights × (1/2 + 1/64 + 4/(64·256)) bytes = 3.35 GiB, plus 2 × 1002 MiB in f16.
    expect(e.base / 2 ** 30).toBeGreaterThan(5.25);
    expect(e.base / 2 ** 30).toBeLessThan(5.35);
    // The embedding (128256 × 4096 × 2 bytes = 1002 MiB) is the largest buffer.
    expect(e.largestBuffer).toEqual({ label: 'embedding', bytes: 128256 * 4096 * 2 });
    // Checkpointing shrinks activations, leaves base/LoRA/optimizer alone.
    const ck = estimateTrainingMemory(LLAMA3_8B, { ...RUN_8B, gradientCheckpointing: true });
    expect(ck.activations).toBeLessThan(e.activations / 4);
    expect(ck.base + ck.lora + ck.optimizer).toBe(e.base + e.lora + e.optimizer);
    // nf4Decode 'f16-scratch': one scratch for the largest projection (the MLP's 14336 × 4096) in f16, 112 MiB.
    const dec = estimateTrainingMemory(LLAMA3_8B, { ...RUN_8B, nf4Decode: 'f16-scratch' });
    expect(dec.total - e.total).toBe(14336 * 4096 * 2);
    expect(dec.breakdown.find((b) => b.label === 'NF4 projection decoded to f16')?.bytes).toBe(14336 * 4096 * 2);
    expect(estimateTrainingMemory(LLAMA3_8B, { ...RUN_8B, quant: 'f16', nf4Decode: 'f16-scratch' }).total).toBe(estimateTrainingMemory(LLAMA3_8B, { ...RUN_8B, quant: 'f16' }).total);
  });

  it('16-bit LoRA and full fine-tuning cost more, full fine-tuning 16 bytes per parameter', () => {
    const q = estimateTrainingMemory(LLAMA3_8B, RUN_8B);
    const l16 = estimate16bitLoraMemory(LLAMA3_8B, RUN_8B);
    const full = estimateFullFinetuneMemory(LLAMA3_8B, RUN_8B);
    const P = modelParameterCount(LLAMA3_8B);
    expect(P).toBe(8_030_261_248); // Llama-3-8B's published parameter count
    expect(l16.base).toBeGreaterThan(2.5 * q.base); // 2 bytes vs ~0.52 per projection weight
    expect(full.base + full.optimizer).toBeGreaterThanOrEqual(16 * P);
    expect(full.base + full.optimizer - 16 * P).toBe(2 * 4096 * 64 * 4); // plus the RoPE tables, 2 MiB
    expect(full.lora).toBe(0);
    expect(full.total).toBeGreaterThan(l16.total);
    expect(l16.total).toBeGreaterThan(q.total);
  });
});

describe('checkFits', () => {
  const bigLimits = { maxBufferSize: 4 * 2 ** 30, maxStorageBufferBindingSize: 4 * 2 ** 30 };

  it('fits with room to spare', () => {
    expect(checkFits(estimateTrainingMemory(LLAMA3_8B, RUN_8B), bigLimits, 80 * 2 ** 30)).toEqual({ ok: true });
  });

  it('a buffer over the binding limit names the buffer and the limit', () => {
    const r = checkFits(estimateTrainingMemory(LLAMA3_8B, RUN_8B), { maxBufferSize: 2 ** 30 * 4, maxStorageBufferBindingSize: 2 ** 27 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe('ADAPTER_LIMITS');
    expect(r.message).toContain('embedding');
    expect(r.message).toContain('maxStorageBufferBindingSize');
    expect(r.message).toContain('128.0 MiB');
  });

  it("the NF4 decode scratch as the largest buffer over the binding limit: decode in the tiles instead", () => {
    // Llama-3-8B's layers with a small vocabulary and batch: the scratch (the MLP's 14336 × 4096 in f16, 112 MiB) is the largest buffer.
    const cfg = parseModelConfig({
      architectures: ['LlamaForCausalLM'], hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 2, num_attention_heads: 32,
      num_key_value_heads: 8, vocab_size: 1024, max_position_embeddings: 8192, rope_theta: 500000, tie_word_embeddings: false,
    });
    const e = estimateTrainingMemory(cfg, { ...RUN_8B, batchSize: 1, seqLen: 16, nf4Decode: 'f16-scratch' });
    expect(e.largestBuffer).toEqual({ label: 'NF4 projection decoded to f16', bytes: 14336 * 4096 * 2 });
    const r = checkFits(e, { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 26 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.suggestions[0]).toContain("nf4Decode 'in-tile'");
  });

  it('a huge batch makes an [M, I] activation the largest buffer: reduce batch size or sequence length', () => {
    const e = estimateTrainingMemory(LLAMA3_8B, { ...RUN_8B, batchSize: 64, seqLen: 2048 });
    expect(e.largestBuffer).toEqual({ label: 'activations [M, I]', bytes: 64 * 2048 * 14336 * 4 });
    const r = checkFits(e, { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 31 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.suggestions).toEqual(['reduce the batch size', 'reduce the sequence length']);
  });

  it('over the device memory: activation levers first when activations dominate', () => {
    const e = estimateTrainingMemory(LLAMA3_8B, { ...RUN_8B, quant: 'f16', batchSize: 8, seqLen: 2048 });
    const r = checkFits(e, bigLimits, 16 * 2 ** 30);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe('OUT_OF_MEMORY');
    expect(r.suggestions[0]).toBe('enable gradient checkpointing');
    expect(r.suggestions.some((x) => x.startsWith('use NF4'))).toBe(true);
    expect(r.message).toMatch(/needs about [\d.]+ GiB/);
  });

  it('over the device memory with small activations: NF4 first, and a smaller model when the base alone is too big', () => {
    const e = estimateTrainingMemory(LLAMA3_8B, { ...RUN_8B, quant: 'f16', batchSize: 1, seqLen: 64, gradientCheckpointing: true });
    const r = checkFits(e, bigLimits, 8 * 2 ** 30);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.suggestions[0]).toMatch(/^choose a smaller model/);
    expect(r.suggestions[1]).toMatch(/^use NF4/);
  });
});
