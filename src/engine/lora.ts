// LoRA settings and the layout of all trainable parameters in one flat f32 buffer (llm.c style: one
// allocation, so gradient clipping and AdamW are one dispatch each). Each A [r, in] and B [out, r]
// starts at a multiple of 64 floats, the 256-byte storage-binding offset alignment of WebGPU.
import { QloraError } from '../errors';
import type { ModelConfig } from '../formats/model-config';
import { ATTENTION_PROJECTIONS, GATED_DELTA_NET_PROJECTIONS, LAYER_KINDS, MLP_BLOCK, MLP_PROJECTIONS } from '../formats/architectures';
import { layerProjections } from '../formats/checkpoint-names';
import { linearQkvChannels } from '../formats/linear-attention-config';
import { createRng } from '../data/rng';

/**
 * The projections the decoder trains LoRA on: every mixer's and the MLP's (architectures.ts lists each
 * mixer's); a layer has only its own mixer's (layerLoraModules). Attention and MLP first, so the dropout
 * streams (decoder-layer.ts) of the attention-only families stay where they were.
 */
export const LORA_MODULES = [...ATTENTION_PROJECTIONS, ...MLP_PROJECTIONS, ...GATED_DELTA_NET_PROJECTIONS] as const;
export type LoraModule = (typeof LORA_MODULES)[number];
export const ATTENTION_MODULES: readonly LoraModule[] = ATTENTION_PROJECTIONS;

export function isLoraModule(name: string): name is LoraModule {
  return (LORA_MODULES as readonly string[]).includes(name);
}

/** The projections of layer `layer`, its mixer's then the MLP's, in PEFT's order (checkpoint-names.ts). */
export function layerLoraModules(cfg: Pick<ModelConfig, 'layerTypes'>, layer: number): LoraModule[] {
  return layerProjections(cfg, layer).map((p) => p.module).filter(isLoraModule);
}

/** The projections some layer of the model has, in LORA_MODULES order: what "all-linear" targets on it. */
export function modelLoraModules(cfg: Pick<ModelConfig, 'layerTypes'>): LoraModule[] {
  const has = new Set(cfg.layerTypes.flatMap((_, i) => layerLoraModules(cfg, i)));
  return LORA_MODULES.filter((m) => has.has(m));
}

export interface LoraSettings {
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly targets: readonly LoraModule[];
  readonly rslora: boolean;
}

/** QLoRA paper / PEFT defaults: r 16, alpha 32 (scale 2), dropout 0.05, all linear layers. */
export const DEFAULT_LORA: LoraSettings = { r: 16, alpha: 32, dropout: 0.05, targets: LORA_MODULES, rslora: false };

/** alpha / r, or alpha / √r with rsLoRA (PEFT's `scaling`). */
export function loraScale(s: LoraSettings): number {
  return s.rslora ? s.alpha / Math.sqrt(s.r) : s.alpha / s.r;
}

/** Target list from user input: module names, or "all-linear" / "attention" presets. */
export function parseTargets(value: string | readonly string[]): LoraModule[] {
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : [...value];
  if (items.length === 1 && items[0] === 'all-linear') return [...LORA_MODULES];
  if (items.length === 1 && items[0] === 'attention') return [...ATTENTION_MODULES];
  const bad = items.filter((t) => !(LORA_MODULES as readonly string[]).includes(t));
  if (bad.length || items.length === 0) {
    throw new QloraError(
      'ARGUMENT_INVALID',
      `LoRA target modules ${bad.length ? `"${bad.join('", "')}" are` : 'are empty:'} not supported. Choose from ${LORA_MODULES.join(', ')}, or "all-linear" / "attention".`,
    );
  }
  return LORA_MODULES.filter((m) => items.includes(m)); // canonical order, no duplicates
}

export function validateLoraSettings(s: LoraSettings): void {
  const bad = (what: string) => {
    throw new QloraError('ARGUMENT_INVALID', `LoRA ${what}`);
  };
  if (!Number.isInteger(s.r) || s.r < 1 || s.r > 1024) bad(`rank r must be an integer from 1 to 1024, got ${s.r}`);
  if (!(s.alpha > 0) || !Number.isFinite(s.alpha)) bad(`alpha must be a positive number, got ${s.alpha}`);
  if (!(s.dropout >= 0 && s.dropout < 1)) bad(`dropout must be in [0, 1), got ${s.dropout}`);
  if (s.targets.length === 0) bad('needs at least one target module');
}

/** Shape of a projection: [out, in]. */
export function moduleShape(cfg: ModelConfig, m: LoraModule): [number, number] {
  const D = cfg.hiddenSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const I = cfg.intermediateSize;
  const lin = () => {
    if (!cfg.linearAttention) throw new QloraError('INTERNAL', `${m} is a Gated DeltaNet projection, but this model has no linear-attention layer.`);
    return cfg.linearAttention;
  };
  switch (m) {
    case 'q_proj': return [cfg.attentionOutputGate ? 2 * q : q, D]; // each head's query rows, then its gate rows
    case 'k_proj': return [kv, D];
    case 'v_proj': return [kv, D];
    case 'o_proj': return [D, q];
    case 'gate_proj': return [I, D];
    case 'up_proj': return [I, D];
    case 'down_proj': return [D, I];
    case 'in_proj_qkv': return [linearQkvChannels(lin()), D];
    case 'in_proj_z': return [lin().numValueHeads * lin().valueHeadDim, D];
    case 'in_proj_b': return [lin().numValueHeads, D];
    case 'in_proj_a': return [lin().numValueHeads, D];
    case 'out_proj': return [D, lin().numValueHeads * lin().valueHeadDim];
  }
}

/** PEFT's module path under the model: `model.layers.{i}.self_attn.q_proj` (each module name belongs to one mixer or the MLP). */
export function modulePath(layer: number, m: LoraModule): string {
  const owner = Object.values(LAYER_KINDS).find((k) => k.loraModules.includes(m)) ?? MLP_BLOCK;
  return `model.layers.${layer}.${owner.path}.${m}`;
}

export interface LoraSlot {
  readonly layer: number;
  readonly module: LoraModule;
  readonly inF: number;
  readonly outF: number;
  readonly aOffset: number; // floats
  readonly bOffset: number; // floats
}

export interface LoraLayout {
  readonly settings: LoraSettings;
  readonly scale: number;
  readonly slots: readonly LoraSlot[];
  readonly totalFloats: number;
  /** Trainable parameter count (without the alignment padding). */
  readonly parameterCount: number;
  slot(layer: number, m: LoraModule): LoraSlot | undefined;
}

const ALIGN = 64;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export function loraLayout(cfg: ModelConfig, settings: LoraSettings): LoraLayout {
  validateLoraSettings(settings);
  const slots: LoraSlot[] = [];
  const index = new Map<string, LoraSlot>();
  let offset = 0;
  let count = 0;
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    // Only the projections this layer's mixer has (a target may be absent from some layer kinds), in PEFT's order.
    for (const module of layerLoraModules(cfg, layer)) {
      if (!settings.targets.includes(module)) continue;
      const [outF, inF] = moduleShape(cfg, module);
      const aOffset = offset;
      offset = align(offset + settings.r * inF);
      const bOffset = offset;
      offset = align(offset + outF * settings.r);
      count += settings.r * (inF + outF);
      const slot = { layer, module, inF, outF, aOffset, bOffset };
      slots.push(slot);
      index.set(`${layer}.${module}`, slot);
    }
  }
  return {
    settings,
    scale: loraScale(settings),
    slots,
    totalFloats: Math.max(offset, ALIGN),
    parameterCount: count,
    slot: (layer, m) => index.get(`${layer}.${m}`),
  };
}

/** PEFT's fresh init: A kaiming-uniform(a=√5) = U(±1/√in), B zeros. Seeded, so runs repeat. */
export function initLoraParams(layout: LoraLayout, seed: number): Float32Array {
  const p = new Float32Array(layout.totalFloats);
  const rng = createRng(seed);
  for (const s of layout.slots) {
    const bound = 1 / Math.sqrt(s.inF);
    const n = layout.settings.r * s.inF;
    for (let i = 0; i < n; i++) p[s.aOffset + i] = (rng.nextFloat() * 2 - 1) * bound;
  }
  return p;
}
