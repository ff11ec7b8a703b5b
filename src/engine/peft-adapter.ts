// Adapters in Hugging Face PEFT's format, both ways: `adapter_config.json` and
// `adapter_model.safetensors` keyed `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`
// ([r, in], F32) / `...lora_B.weight` ([out, r]) — what `PeftModel.from_pretrained` loads — plus the
// merge W + scale·B·A of `merge_and_unload()`.
import { QloraError } from '../errors';
import type { TensorToWrite } from '../formats/safetensors';
import { SafetensorsFile, writeSafetensors } from '../formats/safetensors';
import { MAX_ADAPTER_WEIGHT } from './divergence';
import { compileModulePattern } from '../formats/module-pattern';
import type { LoraLayout, LoraModule, LoraSettings, LoraSlot } from './lora';
import { LORA_MODULES, modulePath, validateLoraSettings } from './lora';

export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

export function peftKey(slot: Pick<LoraSlot, 'layer' | 'module'>, which: 'A' | 'B'): string {
  return `base_model.model.${modulePath(slot.layer, slot.module)}.lora_${which}.weight`;
}

export interface ParsedAdapterConfig {
  settings: LoraSettings;
  baseModel: string | null;
}

function targetsFrom(value: unknown, source: string): LoraModule[] {
  if (value === 'all-linear') return [...LORA_MODULES];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    // PEFT matches list entries as module-name suffixes ("q_proj" or "self_attn.q_proj").
    const found = LORA_MODULES.filter((m) => value.some((v: string) => v === m || v.endsWith(`.${m}`)));
    const unknown = value.filter((v: string) => !LORA_MODULES.some((m) => v === m || v.endsWith(`.${m}`)));
    if (unknown.length) {
      throw new QloraError('CONFIG_INVALID', `${source}: target_modules ${JSON.stringify(unknown)} are not projections this engine trains (${LORA_MODULES.join(', ')}).`);
    }
    return found;
  }
  if (typeof value === 'string') {
    // A regex over full module paths (PEFT: re.fullmatch), matched in linear time so a pattern like
    // "(.*)*X" cannot hang; accept it when it picks the same projections in every layer.
    const re = compileModulePattern(value, source);
    const picked = LORA_MODULES.filter((m) => re.fullMatch(modulePath(0, m)));
    const everyLayer = LORA_MODULES.every((m) => [1, 2, 7].every((l) => re.fullMatch(modulePath(l, m)) === picked.includes(m)));
    if (picked.length && everyLayer) return picked;
    throw new QloraError('CONFIG_INVALID', `${source}: target_modules regex "${value}" does not select the same projections in every layer; only whole-model targets are supported.`);
  }
  throw new QloraError('CONFIG_INVALID', `${source}: target_modules must be a list of module names or "all-linear", got ${JSON.stringify(value)}.`);
}

export function parseAdapterConfig(json: unknown, source = ADAPTER_CONFIG_FILE): ParsedAdapterConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new QloraError('CONFIG_INVALID', `${source} is not a JSON object.`);
  const c = json as Record<string, unknown>;
  const refuse = (what: string) => {
    throw new QloraError('CONFIG_INVALID', `${source}: ${what}. Supported: plain LoRA adapters (peft_type LORA) on the model's projections.`);
  };
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') refuse(`peft_type is ${JSON.stringify(c.peft_type)}`);
  if (c.bias !== undefined && c.bias !== 'none') refuse(`bias "${String(c.bias)}" would train biases too`);
  if (c.use_dora === true) refuse('DoRA adapters (use_dora) are not supported');
  if (c.fan_in_fan_out === true) refuse('fan_in_fan_out is for GPT-2 style Conv1D layers');
  for (const k of ['rank_pattern', 'alpha_pattern']) {
    const v = c[k];
    if (v && typeof v === 'object' && Object.keys(v).length) refuse(`${k} (per-module ranks) is not supported`);
  }
  if (c.layers_to_transform !== undefined && c.layers_to_transform !== null) refuse('layers_to_transform is not supported');
  if (c.modules_to_save && Array.isArray(c.modules_to_save) && c.modules_to_save.length) refuse('modules_to_save (fully trained modules) is not supported');
  // Fields of PEFT 0.21 that change what the adapter computes; ignoring them would load a different model.
  const set = (v: unknown) => v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
  if (set(c.exclude_modules)) refuse(`exclude_modules ${JSON.stringify(c.exclude_modules)} is not supported (every layer's targets are adapted here)`);
  if (set(c.target_parameters)) refuse('target_parameters (LoRA on raw parameters) is not supported');
  if (set(c.trainable_token_indices)) refuse('trainable_token_indices (trained embedding rows) is not supported');
  if (c.lora_bias === true) refuse('lora_bias: true (a bias on lora_B) is not supported');
  if (set(c.layer_replication)) refuse('layer_replication is not supported');
  if (c.use_qalora === true) refuse('QA-LoRA adapters (use_qalora) are not supported');
  if (set(c.alora_invocation_tokens)) refuse('activated LoRA (alora_invocation_tokens) is not supported');
  // Types as PEFT's LoraConfig declares them: "16" for r or "true" for use_rslora are refused, not
  // coerced (Number("16") would pass, and "true" === true would silently turn rsLoRA off).
  const num = (k: string, fallback: unknown): number => {
    const v = c[k] ?? fallback;
    if (typeof v !== 'number') throw new QloraError('CONFIG_INVALID', `${source}: ${k} must be a number, got ${JSON.stringify(v)}. Write it without quotes.`);
    return v;
  };
  if (c.use_rslora !== undefined && c.use_rslora !== null && typeof c.use_rslora !== 'boolean') {
    throw new QloraError('CONFIG_INVALID', `${source}: use_rslora must be true or false, got ${JSON.stringify(c.use_rslora)}. Write it without quotes.`);
  }
  const settings: LoraSettings = {
    r: num('r', undefined),
    alpha: num('lora_alpha', c.r),
    dropout: num('lora_dropout', 0),
    targets: targetsFrom(c.target_modules, source),
    rslora: c.use_rslora === true,
  };
  try {
    validateLoraSettings(settings);
  } catch (e) {
    throw new QloraError('CONFIG_INVALID', `${source}: ${(e as Error).message}`);
  }
  const base = c.base_model_name_or_path;
  return { settings, baseModel: typeof base === 'string' ? base : null };
}

/** The PEFT version whose adapter_config.json fields adapterConfigJson writes. */
export const PEFT_VERSION = '0.21.0';

/** adapter_config.json as PEFT 0.21's LoraConfig.save_pretrained writes it: every field, sorted. */
export function adapterConfigJson(settings: LoraSettings, baseModel: string | null): Record<string, unknown> {
  return {
    alora_invocation_tokens: null,
    alpha_pattern: {},
    arrow_config: null,
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    corda_config: null,
    ensure_weight_tying: false,
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    kasa_config: null,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: settings.alpha,
    lora_bias: false,
    lora_dropout: settings.dropout,
    lora_ga_config: null,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    monteclora_config: null,
    peft_type: 'LORA',
    peft_version: PEFT_VERSION,
    qalora_group_size: 16,
    r: settings.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...settings.targets],
    target_parameters: null,
    task_type: 'CAUSAL_LM',
    trainable_token_indices: null,
    use_bdlora: null,
    use_dora: false,
    use_qalora: false,
    use_rslora: settings.rslora,
    velora_config: null,
  };
}

/**
 * An adapter's weights file, opened. A malformed one is the adapter's fault, not the model's: it is
 * refused as ADAPTER_INVALID naming the file (WEIGHTS_CORRUPT would send the user to delete the
 * cached model).
 */
export function openAdapterWeights(bytes: Uint8Array, fileName: string = ADAPTER_WEIGHTS_FILE): SafetensorsFile {
  try {
    return new SafetensorsFile(bytes, fileName);
  } catch (e) {
    throw asAdapterError(e);
  }
}

/** A WEIGHTS_CORRUPT error about an adapter's file, retold as the adapter's (other errors as they are). */
export function asAdapterError(e: unknown): unknown {
  if (!(e instanceof QloraError) || e.code !== 'WEIGHTS_CORRUPT') return e;
  return new QloraError('ADAPTER_INVALID', `${e.message.replace(/; download it again\.$/, '.')} The adapter file is damaged or not an adapter: export or download the adapter again.`, e.details);
}

/** The flat parameter vector of `layout` from a PEFT adapter file; every tensor must be there with its shape. */
export function readAdapterWeights(file: SafetensorsFile, layout: LoraLayout): Float32Array {
  const params = new Float32Array(layout.totalFloats);
  const r = layout.settings.r;
  const used = new Set<string>();
  for (const slot of layout.slots) {
    for (const which of ['A', 'B'] as const) {
      let key = peftKey(slot, which);
      // Some tools keep PEFT's adapter name in the key (`lora_A.default.weight`).
      if (!file.has(key) && file.has(key.replace('.weight', '.default.weight'))) key = key.replace('.weight', '.default.weight');
      let info;
      try {
        info = file.info(key);
      } catch (e) {
        throw asAdapterError(e);
      }
      const want = which === 'A' ? [r, slot.inF] : [slot.outF, r];
      if (info.shape.length !== 2 || info.shape[0] !== want[0] || info.shape[1] !== want[1]) {
        throw new QloraError('ADAPTER_INVALID', `${file.fileName}: "${key}" has shape [${info.shape}], expected [${want}] for this model with r=${r}.`, { tensor: key });
      }
      let values: Float32Array;
      try {
        values = file.float32(key);
      } catch (e) {
        throw asAdapterError(e);
      }
      // As training's divergence check: a working adapter is finite and within ±MAX_ADAPTER_WEIGHT, so a
      // flipped bit (-0.0545 read as -1.85e37) or a diverged save is refused instead of generating garbage.
      const bad = values.findIndex((v) => !(Math.abs(v) <= MAX_ADAPTER_WEIGHT));
      if (bad >= 0) {
        const finite = Number.isFinite(values[bad]);
        throw new QloraError(
          'ADAPTER_INVALID',
          `${file.fileName}: "${key}" holds ${values[bad]} at index ${bad}; an adapter's weights are finite and within ±${MAX_ADAPTER_WEIGHT}. ` +
            (finite ? 'The file is damaged, or was saved from a diverged run: export it again, or use an earlier checkpoint.' : 'It was saved from a diverged run: use an earlier checkpoint.'),
          { tensor: key },
        );
      }
      params.set(values, which === 'A' ? slot.aOffset : slot.bOffset);
      used.add(key);
    }
  }
  const extra = file.names().filter((n) => !used.has(n));
  if (extra.length) {
    throw new QloraError('ADAPTER_INVALID', `${file.fileName} holds ${extra.length} tensors this adapter config does not describe (e.g. "${extra[0]}"); is adapter_config.json from the same adapter?`);
  }
  return params;
}

/** One slot's A [r, in] and B [out, r] as views into the flat parameters. */
export function slotTensors(layout: LoraLayout, params: Float32Array, slot: LoraSlot): { A: Float32Array; B: Float32Array } {
  const r = layout.settings.r;
  return {
    A: params.subarray(slot.aOffset, slot.aOffset + r * slot.inF),
    B: params.subarray(slot.bOffset, slot.bOffset + slot.outF * r),
  };
}

export function writeAdapterWeights(layout: LoraLayout, params: Float32Array): Uint8Array {
  const r = layout.settings.r;
  const tensors: TensorToWrite[] = [];
  for (const slot of layout.slots) {
    const { A, B } = slotTensors(layout, params, slot);
    tensors.push({ name: peftKey(slot, 'A'), dtype: 'F32', shape: [r, slot.inF], data: A });
    tensors.push({ name: peftKey(slot, 'B'), dtype: 'F32', shape: [slot.outF, r], data: B });
  }
  return writeSafetensors(tensors);
}

/** W + scale · B · A for W [out, in] (f64 accumulation, f32 result), as PEFT's merge. */
export function mergeLora(W: Float32Array, A: Float32Array, B: Float32Array, scale: number, outF: number, inF: number, r: number): Float32Array {
  const out = new Float32Array(outF * inF);
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += B[o * r + k] * A[k * inF + i];
      out[o * inF + i] = W[o * inF + i] + scale * s;
    }
  }
  return out;
}
