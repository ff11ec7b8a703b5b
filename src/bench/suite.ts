// The benchmark grid, shared by the CLI (src/bench/main.ts) and the bench page (src/bench/page.ts):
// for each model × base precision × batch × sequence length, a training configuration, and with
// `kernels` the per-kernel table against the device's measured ceilings and, where device-profiles.ts
// knows the GPU, its datasheet peaks (`kernelsOnly`: the table without the training configuration);
// with `quantize` the CPU time to quantize each built-in shape. Each result is one JSON-able line
// handed to `out`, tagged with the matrix-product back end (backends.ts).
import type { GpuContext } from '../gpu/context';
import type { ModelConfig } from '../formats/model-config';
import type { BaseQuant, HostModelWeights } from '../engine/base-weights';
import { BASE_QUANTS } from '../engine/base-weights';
import type { LoraSettings } from '../engine/lora';
import { loraLayout } from '../engine/lora';
import { QloraError } from '../errors';
import { shapeConfig, SHAPE_NAMES } from './shapes';
import { randomModel } from './random-weights';
import { benchTraining } from './train-bench';
import { benchKernels, measureCeilings } from './kernel-bench';
import { benchQuantize } from './quantize-bench';
import { deviceProfile } from './device-profiles';
import type { ProfileClock } from '../gpu/profile';

export interface BenchGrid {
  models: string[];
  quants: BaseQuant[];
  batches: number[];
  seqs: number[];
  steps: number;
  lora: LoraSettings;
  checkpointing: boolean;
  kernels: boolean;
  quantize: boolean;
  allocOnly: boolean;
  /** The per-kernel table only, at each configuration's shapes, without timing the training step. */
  kernelsOnly?: boolean;
  /** The GPU's marketing name (nvidia-smi's), tried before the adapter description to find a datasheet profile. */
  deviceName?: string;
  /** PassOptions.lmHeadSplitK for the training passes (default 1: unsplit). */
  lmHeadSplitK?: number | 'auto';
  /** The best product of a sweep on this device (kernel-bench.ts bestSweepTflops): the table's FLOP/s ceiling. */
  sweepTflops?: number | null;
  /** Also a step profile per training configuration (step-profile.ts), with this clock. */
  profile?: ProfileClock | 'auto';
}

/** A model folder's weights for the CLI; the page knows only the built-in shapes. */
export type ModelLoader = (name: string, quant: BaseQuant) => Promise<{ cfg: ModelConfig; host: HostModelWeights }>;

/** "a, b,,c" → ["a", "b", "c"]: the grid's options are comma lists. */
export function commaList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Comma lists of positive integers ("1,8"), refused with the option's name when malformed. */
export function positiveInts(option: string, text: string): number[] {
  const n = commaList(text).map(Number);
  if (n.length === 0 || n.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new QloraError('ARGUMENT_INVALID', `--${option} takes positive integers separated by commas, not "${text}".`);
  }
  return n;
}

export function baseQuants(text: string): BaseQuant[] {
  const q = commaList(text);
  const bad = q.filter((v) => !(BASE_QUANTS as readonly string[]).includes(v));
  if (q.length === 0 || bad.length > 0) throw new QloraError('ARGUMENT_INVALID', `--quant takes ${BASE_QUANTS.join(', ')}, not "${text}".`);
  return q as BaseQuant[];
}

export const builtInShape: ModelLoader = async (name, quant) => {
  const cfg = shapeConfig(name);
  if (!cfg) throw new QloraError('ARGUMENT_INVALID', `Unknown model shape "${name}"; built in: ${SHAPE_NAMES.join(', ')}.`);
  return { cfg, host: randomModel(cfg, quant) };
};

export async function runBench(ctx: GpuContext, g: BenchGrid, out: (line: object) => void, load: ModelLoader = builtInShape): Promise<void> {
  const device = ctx.adapterDescription;
  const backend = ctx.gemmBackend;
  const profile = deviceProfile(g.deviceName, device);
  const ceilings = (g.kernels || g.kernelsOnly) && !g.allocOnly ? await measureCeilings(ctx, { sweepTflops: g.sweepTflops, profile }) : null;
  if (ceilings) {
    const datasheet = profile && { datasheet: profile.name, datasheet_fp32_tflops: profile.fp32Tflops, datasheet_tensor_tflops: profile.tensorTflops, datasheet_mem_gbps: profile.memGbps };
    out({
      kind: 'ceilings', device, backend, matmul_tflops: ceilings.tflops, matmul_source: ceilings.tflopsSource, own_product_tflops: ceilings.ownProductTflops,
      copy_gbps: ceilings.gbps, copy_buffer_gbps: ceilings.copyBufferGbps, ...datasheet,
    });
  }
  for (const name of g.models) {
    const shape = shapeConfig(name);
    if (g.quantize && shape) out({ kind: 'quantize', ...benchQuantize(name, shape) });
    for (const quant of g.quants) {
      const { cfg, host } = await load(name, quant);
      for (const batch of g.batches) {
        for (const seq of g.seqs) {
          if (!g.kernelsOnly) {
            const { profile, ...r } = await benchTraining(ctx, name, cfg, host, {
              batch, seq, steps: g.steps, lora: g.lora, quant, checkpointing: g.checkpointing, allocOnly: g.allocOnly, lmHeadSplitK: g.lmHeadSplitK, profile: g.profile,
            });
            out({ kind: 'train', ...r }); // r.gemm_backend names the back end
            if (profile) out({ ...profile, model: name, batch, seq, gemm_backend: r.gemm_backend, nf4_decode: r.nf4_decode, step_ms: r.step_ms, device });
          }
          if (ceilings) {
            const n = loraLayout(cfg, g.lora).totalFloats;
            for (const k of await benchKernels(ctx, cfg, host.layers[0].proj.gate_proj!, batch, seq, n, ceilings, profile)) out({ kind: 'kernel', model: name, batch, seq, device, ...k }); // k.backend: each product's back end and tile
          }
          ctx.memory.peak = ctx.memory.inUse; // the next configuration's peak is its own
        }
      }
    }
  }
}
