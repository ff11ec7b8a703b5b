// A merged model for deployment (vLLM, llama.cpp's converter, plain transformers): every projection
// becomes W + scale·B·A (mergeLora, as PEFT's merge_and_unload), NF4 weights dequantized first, and
// everything is written in F16 or BF16 under the Hugging Face names, in the Hub layout:
// `model.safetensors`, or shards `model-00001-of-0000N.safetensors` + `model.safetensors.index.json`
// when it does not fit one shard; config.json without quantization_config and with the new dtype;
// the tokenizer files as they were.
// Shards are built one at a time by a generator (tensors of one shard are merged only when that shard
// is asked for), so a 7B export holds one shard plus one f32 weight in memory, not the whole model.
// Sharding follows huggingface_hub's split_torch_state_dict_into_shards: tensors in state-dict
// order, a new shard when the next tensor would overflow the open one, a tensor bigger than the limit
// in a shard of its own; total_size counts tensor bytes only, as transformers writes it.
import { QloraError } from '../errors';
import type { ModelConfig } from '../formats/model-config';
import { writeSafetensors, type TensorToWrite } from '../formats/safetensors';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../formats/half';
import { dequantizeNf4 } from '../quant/nf4';
import type { HostWeight } from '../gpu/weight';
import type { HostModelWeights } from '../engine/base-weights';
import type { LoraLayout } from '../engine/lora';
import { layerLoraModules, modulePath } from '../engine/lora';
import { layerNorms } from '../engine/base-weights';
import { GDN_TENSORS, gdnTensorShapes } from '../engine/mixers/gated-delta-net';
import { layerMixer } from '../formats/checkpoint-names';
import { mergeLora, slotTensors } from '../engine/peft-adapter';
import type { ModelType, NormRole } from '../formats/architectures';
import { ARCHITECTURES } from '../formats/architectures';
import type { ExportFile } from './zip';

export type MergedDtype = 'F16' | 'BF16';

export interface MergedModelInput {
  readonly config: ModelConfig;
  /** The base model's config.json as read (copied, with the dtype set and quantization_config removed). */
  readonly configJson: Readonly<Record<string, unknown>>;
  readonly weights: HostModelWeights;
  readonly layout: LoraLayout;
  readonly params: Float32Array;
  /** tokenizer.json, tokenizer_config.json, special_tokens_map.json, chat_template.jinja, …: copied as given. */
  readonly tokenizerFiles?: Readonly<Record<string, string | Uint8Array>>;
  /** Default BF16: the range of f32, so no merged weight overflows (f16 saturates at 65504). */
  readonly dtype?: MergedDtype;
  /** Default 2 GiB. */
  readonly maxShardBytes?: number;
}

export const DEFAULT_MAX_SHARD_BYTES = 2 * 2 ** 30;
export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

const TORCH_DTYPE: Record<MergedDtype, string> = { F16: 'float16', BF16: 'bfloat16' };

interface PlannedTensor {
  readonly name: string;
  readonly shape: number[];
  readonly bytes: number;
  /** The merged values in the export dtype, computed when the shard is written. */
  readonly produce: () => Uint16Array;
}

export interface MergedShardPlan {
  readonly name: string;
  readonly tensors: readonly string[];
  readonly bytes: number; // tensor bytes (the file adds its JSON header)
}

export interface MergedModelPlan {
  readonly dtype: MergedDtype;
  readonly shards: readonly MergedShardPlan[];
  /** Σ tensor bytes: metadata.total_size of the index. */
  readonly totalSize: number;
  /** Every file the export produces, in the order mergedModelFiles yields them. */
  readonly files: readonly string[];
}

function toF32(w: HostWeight): Float32Array {
  switch (w.format) {
    case 'f32':
      return w.data;
    case 'f16':
      return f16ArrayToF32(w.data);
    case 'bf16':
      return bf16ArrayToF32(w.data);
    case 'nf4':
      return dequantizeNf4(w.data);
  }
}

function encode(values: Float32Array, dtype: MergedDtype): Uint16Array {
  return dtype === 'F16' ? f32ArrayToF16(values) : f32ArrayToBf16(values);
}

/** A float matrix in the export dtype; already-16-bit data of the same kind is copied bit for bit. */
function matrix16(w: HostWeight, dtype: MergedDtype): Uint16Array {
  if ((w.format === 'f16' && dtype === 'F16') || (w.format === 'bf16' && dtype === 'BF16')) return w.data;
  return encode(toF32(w), dtype);
}

/** The tensors of the merged model in transformers' state-dict order. */
function planTensors(input: MergedModelInput, dtype: MergedDtype): PlannedTensor[] {
  const { config: cfg, weights: w, layout, params } = input;
  const out: PlannedTensor[] = [];
  const add = (name: string, shape: number[], produce: () => Uint16Array) =>
    out.push({ name, shape, bytes: shape.reduce((a, b) => a * b, 2), produce });
  const vector = (v: Float32Array) => () => encode(v, dtype);

  if (w.layers.length !== cfg.numLayers) {
    throw new QloraError('INTERNAL', `mergedModelFiles: ${w.layers.length} layers of weights for a config with ${cfg.numLayers}.`);
  }
  add('model.embed_tokens.weight', [w.embed.rows, w.embed.cols], () => matrix16(w.embed, dtype));
  w.layers.forEach((layer, i) => {
    for (const m of layerLoraModules(cfg, i)) {
      const hw = layer.proj[m];
      const path = modulePath(i, m);
      if (!hw) throw new QloraError('INTERNAL', `mergedModelFiles: layer ${i} has no ${m} weight.`);
      add(`${path}.weight`, [hw.rows, hw.cols], () => {
        const slot = layout.slot(i, m);
        if (!slot) return matrix16(hw, dtype);
        if (slot.outF !== hw.rows || slot.inF !== hw.cols) {
          throw new QloraError('ADAPTER_INVALID', `${path}: the adapter is [${slot.outF}, ${slot.inF}] but the weight is [${hw.rows}, ${hw.cols}].`);
        }
        const { A, B } = slotTensors(layout, params, slot);
        return encode(mergeLora(toF32(hw), A, B, layout.scale, hw.rows, hw.cols, layout.settings.r), dtype);
      });
      const bias = layer.bias[m];
      if (bias) add(`${path}.bias`, [bias.length], vector(bias));
    }
    if (layer.gdn) {
      // The Gated DeltaNet's frozen tensors, as stored (conv1d.weight [Ch, 1, K]).
      const shapes = gdnTensorShapes(cfg.linearAttention!);
      for (const t of GDN_TENSORS) add(`model.layers.${i}.${layerMixer(cfg, i).path}.${t}`, shapes[t], vector(layer.gdn[t]));
    }
    for (const [role, name] of layerNorms(cfg, i) as [NormRole, string][]) {
      const w = layer.norms[role];
      if (!w) throw new QloraError('INTERNAL', `mergedModelFiles: layer ${i} has no ${name} weight.`);
      add(`model.layers.${i}.${name}.weight`, [w.length], vector(w));
    }
  });
  add('model.norm.weight', [w.finalNorm.length], vector(w.finalNorm));
  // A checkpoint without lm_head whose config does not say "tied" was run with the embedding as
  // lm_head (base-weights.ts); writing it out keeps the merged model computing the same thing.
  const head = w.lmHead ?? (cfg.tieWordEmbeddings ? null : w.embed);
  if (head) add('lm_head.weight', [head.rows, head.cols], () => matrix16(head, dtype));
  return out;
}

function shardName(i: number, n: number): string {
  return `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

/** huggingface_hub's split: greedy in order; a tensor over the limit goes alone into a shard placed before the open one. */
function splitShards(tensors: readonly PlannedTensor[], maxBytes: number): PlannedTensor[][] {
  const shards: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  let size = 0;
  for (const t of tensors) {
    if (t.bytes > maxBytes) {
      shards.push([t]);
      continue;
    }
    if (size + t.bytes > maxBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards.filter((g) => g.length > 0);
}

function checkInput(input: MergedModelInput): { dtype: MergedDtype; maxShardBytes: number } {
  const dtype = input.dtype ?? 'BF16';
  if (dtype !== 'F16' && dtype !== 'BF16') throw new QloraError('ARGUMENT_INVALID', `The merged model is written in F16 or BF16, not ${String(dtype)}.`);
  const maxShardBytes = input.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (!(Number.isSafeInteger(maxShardBytes) && maxShardBytes > 0)) {
    throw new QloraError('ARGUMENT_INVALID', `maxShardBytes must be a positive whole number of bytes, got ${maxShardBytes}.`);
  }
  if (input.params.length < input.layout.totalFloats) {
    throw new QloraError('ADAPTER_INVALID', `The adapter parameters hold ${input.params.length} floats; the layout needs ${input.layout.totalFloats}.`);
  }
  for (const name of Object.keys(input.tokenizerFiles ?? {})) {
    if (name === 'config.json' || name === INDEX_FILE || name.endsWith('.safetensors')) {
      throw new QloraError('ARGUMENT_INVALID', `"${name}" is not a tokenizer file; the export writes it itself.`);
    }
  }
  return { dtype, maxShardBytes };
}

interface Prepared {
  plan: MergedModelPlan;
  groups: PlannedTensor[][];
}

function prepare(input: MergedModelInput): Prepared {
  const { dtype, maxShardBytes } = checkInput(input);
  const groups = splitShards(planTensors(input, dtype), maxShardBytes);
  const names = groups.length === 1 ? [SINGLE_FILE] : groups.map((_, i) => shardName(i, groups.length));
  const shards = groups.map((g, i) => ({ name: names[i], tensors: g.map((t) => t.name), bytes: g.reduce((a, t) => a + t.bytes, 0) }));
  const totalSize = shards.reduce((a, s) => a + s.bytes, 0);
  const files = ['config.json', ...Object.keys(input.tokenizerFiles ?? {}), ...(groups.length > 1 ? [INDEX_FILE] : []), ...names];
  return { plan: { dtype, shards, totalSize, files }, groups };
}

/** What the export will write, without merging anything (for progress and size display). */
export function planMergedModel(input: MergedModelInput): MergedModelPlan {
  return prepare(input).plan;
}

/**
 * The text model's config.json inside a wrapping one (Qwen3_5ForConditionalGeneration: text_config), as the
 * text class's own: the merged export holds the text weights only, under the text names. Fields the wrapper
 * keeps at top level (tied embeddings, special tokens) are carried in where the text config lacks them.
 */
function textModelConfigJson(configJson: Readonly<Record<string, unknown>>, modelType: ModelType): Readonly<Record<string, unknown>> {
  const arch = ARCHITECTURES[modelType];
  const inner = arch.wrapper && configJson.model_type === arch.wrapper.modelType ? configJson[arch.wrapper.textConfigKey] : undefined;
  if (!inner || typeof inner !== 'object') return configJson;
  const out: Record<string, unknown> = { ...(inner as Record<string, unknown>), architectures: [arch.className], model_type: arch.modelType };
  for (const k of ['tie_word_embeddings', 'bos_token_id', 'eos_token_id', 'pad_token_id']) if (out[k] === undefined && configJson[k] !== undefined) out[k] = configJson[k];
  return out;
}

/**
 * config.json for the merged model: the base's, as 16-bit weights with no quantization, naming its
 * transformers class in `architectures` even when the base's did not (llama.cpp's convert_hf_to_gguf.py
 * refuses a folder without it; AutoModelForCausalLM goes by model_type and does not mind); a wrapping
 * base's text model only (textModelConfigJson).
 */
export function mergedConfigJson(baseConfigJson: Readonly<Record<string, unknown>>, dtype: MergedDtype, modelType: ModelType): Record<string, unknown> {
  const configJson = textModelConfigJson(baseConfigJson, modelType);
  const named = Array.isArray(configJson.architectures) && configJson.architectures.length > 0;
  const out: Record<string, unknown> = { ...configJson, ...(named ? {} : { architectures: [ARCHITECTURES[modelType].className] }), torch_dtype: TORCH_DTYPE[dtype] };
  // transformers ≥ 4.56 saves the dtype as `dtype`; keep the two in step when the base had it.
  if ('dtype' in configJson) out.dtype = TORCH_DTYPE[dtype];
  delete out.quantization_config;
  return out;
}

const encoder = new TextEncoder();
const jsonFile = (name: string, value: unknown): ExportFile => ({ name, bytes: encoder.encode(JSON.stringify(value, null, 2) + '\n') });

/**
 * The files of the merged model, one at a time: config.json, the tokenizer files, the shard index
 * (when sharded), then each shard. Drop each file once written: only then is memory freed.
 */
export function* mergedModelFiles(input: MergedModelInput): Generator<ExportFile, void, undefined> {
  const { plan, groups } = prepare(input);
  yield jsonFile('config.json', mergedConfigJson(input.configJson, plan.dtype, input.config.modelType));
  for (const [name, content] of Object.entries(input.tokenizerFiles ?? {})) {
    yield { name, bytes: typeof content === 'string' ? encoder.encode(content) : content };
  }
  if (groups.length > 1) {
    const weightMap: Record<string, string> = {};
    plan.shards.forEach((s) => s.tensors.forEach((t) => (weightMap[t] = s.name)));
    yield jsonFile(INDEX_FILE, { metadata: { total_size: plan.totalSize }, weight_map: weightMap });
  }
  for (let i = 0; i < groups.length; i++) {
    const tensors: TensorToWrite[] = groups[i].map((t) => ({ name: t.name, dtype: plan.dtype, shape: t.shape, data: t.produce() }));
    yield { name: plan.shards[i].name, bytes: writeSafetensors(tensors) };
  }
}
