// Rotary position embedding settings from config.json, in both spellings transformers has used: the old
// `rope_theta` + `rope_scaling: {type | rope_type, ...}` and v5's `rope_parameters: {rope_theta,
// rope_type, ...}`; and the inverse frequencies they imply, exactly as transformers'
// modeling_rope_utils computes them (default, linear, llama3), but in float64.
// Note: transformers evaluates this in float32 and builds cos/sin in float32 even for a float64 model;
// the difference (~1e-7 relative) is below every tolerance here, and the f64 values are the ideal ones.

import { ConfigFields } from './config-fields';

export type RopeScaling =
  | null
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

export interface RopeConfig {
  readonly theta: number;
  readonly scaling: RopeScaling;
}

const SUPPORTED_ROPE = 'Supported rope types: default, linear, llama3';

/**
 * RoPE of a model with one rotary embedding for every layer. v5 writes rope_parameters (theta inside);
 * older files rope_theta + rope_scaling. The newer form wins.
 */
export function parseRopeConfig(config: ConfigFields, defaultTheta = 10000, partialRotary = false): RopeConfig {
  const parameters = config.section('rope_parameters');
  const theta =
    parameters?.has('rope_theta') === true ? parameters.positive('rope_theta') : config.positive('rope_theta', defaultTheta);
  if (!partialRotary) refusePartialRotary(config);
  return parseRopeSection(parameters ?? config.section('rope_scaling'), theta);
}

/**
 * The number of leading dims of each head that RoPE rotates, for a family that rotates a part
 * (`partialRotaryDefault`): int(head_dim · partial_rotary_factor) as transformers' rope init computes it,
 * the factor from rope_parameters (v5), else the top level, else the config class's default.
 */
export function parseRotaryDim(config: ConfigFields, headDim: number, defaultFactor: number): number {
  const parameters = config.section('rope_parameters');
  const owner = parameters?.has('partial_rotary_factor') === true ? parameters : config;
  const factor = owner.positive('partial_rotary_factor', defaultFactor);
  const dim = Math.floor(headDim * factor);
  if (factor > 1 || dim < 2 || dim % 2 !== 0) {
    throw owner.fail(
      `"${owner.prefix}partial_rotary_factor" ${factor} rotates ${dim} of head_dim ${headDim} dims; expected a factor in (0, 1] giving an even number of at least 2`,
    );
  }
  return dim;
}

/** RoPE per attention type (Gemma 3: sliding layers use a local base, full layers a global one with optional scaling). */
export interface LayerTypeRope {
  readonly full: RopeConfig;
  readonly sliding: RopeConfig;
}

/**
 * Both spellings transformers reads for Gemma 3 (Gemma3TextConfig.convert_rope_params_to_dict): v5's
 * `rope_parameters: {full_attention: {...}, sliding_attention: {...}}`, and the older `rope_theta` (full
 * layers) + `rope_scaling` (merged into the full layers' entry) + `rope_local_base_freq` (sliding layers,
 * never scaled) that Hub checkpoints carry. An entry's own rope_theta wins over the legacy fields; a
 * missing rope_type is "default" (so a legacy `type` alone is ignored there, as transformers does).
 */
export function parseLayerTypeRope(config: ConfigFields, defaults: { fullTheta: number; slidingTheta: number }): LayerTypeRope {
  refusePartialRotary(config);
  const parameters = config.section('rope_parameters');
  if (parameters && !parameters.has('full_attention') && !parameters.has('sliding_attention')) {
    throw parameters.fail('"rope_parameters" must have "full_attention" and/or "sliding_attention" entries for this model (one per layer type)');
  }
  const entry = (key: string, extra: ConfigFields | null, theta: number): RopeConfig => {
    const own = parameters?.section(key) ?? null;
    if (own) refusePartialRotary(own);
    const merged = new ConfigFields({ rope_type: 'default', ...own?.json, ...extra?.json }, config.source, `rope_parameters.${key}.`);
    return parseRopeSection(merged, merged.positive('rope_theta', theta));
  };
  return {
    full: entry('full_attention', config.section('rope_scaling'), config.positive('rope_theta', defaults.fullTheta)),
    sliding: entry('sliding_attention', null, config.positive('rope_local_base_freq', defaults.slidingTheta)),
  };
}

function refusePartialRotary(owner: ConfigFields): void {
  for (const section of [owner, owner.section('rope_parameters'), owner.section('rope_scaling')]) {
    const partial = section?.raw('partial_rotary_factor');
    if (section && partial !== undefined && partial !== null && partial !== 1) {
      throw section.fail(`"${section.prefix}partial_rotary_factor" is ${partial}; only full rotary embeddings (1.0) are supported`);
    }
  }
}

/** The scaling of one rope section (rope_parameters, one of its per-type entries, or rope_scaling). */
function parseRopeSection(section: ConfigFields | null, theta: number): RopeConfig {
  if (!section) return { theta, scaling: null };
  // transformers reads `rope_type`, falling back to the legacy `type`, then to "default".
  const ropeType = section.has('rope_type') ? section.string('rope_type', 'default') : section.string('type', 'default');
  switch (ropeType) {
    case 'default':
      return { theta, scaling: null };
    case 'linear':
      return { theta, scaling: { type: 'linear', factor: section.positive('factor') } };
    case 'llama3': {
      const lowFreqFactor = section.positive('low_freq_factor');
      const highFreqFactor = section.positive('high_freq_factor');
      if (highFreqFactor <= lowFreqFactor) {
        throw section.fail(
          `llama3 rope needs high_freq_factor > low_freq_factor, found ${highFreqFactor} <= ${lowFreqFactor}`,
        );
      }
      return {
        theta,
        scaling: {
          type: 'llama3',
          factor: section.positive('factor'),
          lowFreqFactor,
          highFreqFactor,
          originalMaxPositionEmbeddings: section.int('original_max_position_embeddings', 1),
        },
      };
    }
    default:
      throw section.fail(`rope type "${ropeType}" (in "${section.prefix.slice(0, -1)}") is not supported. ${SUPPORTED_ROPE}.`);
  }
}

/** inv_freq[j] for the rotated pairs (j < headDim/2), as transformers' `_compute_*_rope_parameters`. */
export function computeRopeInvFreq(headDim: number, rope: RopeConfig): Float64Array {
  const invFreq = new Float64Array(headDim / 2);
  for (let j = 0; j < invFreq.length; j++) invFreq[j] = 1 / rope.theta ** ((2 * j) / headDim);
  const scaling = rope.scaling;
  if (scaling?.type === 'linear') {
    // Scaling positions by 1/factor is the same as scaling the frequencies.
    for (let j = 0; j < invFreq.length; j++) invFreq[j] = invFreq[j] / scaling.factor;
  } else if (scaling?.type === 'llama3') {
    // Long wavelengths are slowed by `factor`, short ones kept, the band between interpolated smoothly.
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldContext } = scaling;
    const lowFreqWavelen = oldContext / lowFreqFactor;
    const highFreqWavelen = oldContext / highFreqFactor;
    for (let j = 0; j < invFreq.length; j++) {
      const freq = invFreq[j];
      const wavelen = (2 * Math.PI) / freq;
      if (wavelen < highFreqWavelen) continue;
      if (wavelen > lowFreqWavelen) {
        invFreq[j] = freq / factor;
        continue;
      }
      const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      invFreq[j] = ((1 - smooth) * freq) / factor + smooth * freq;
    }
  }
  return invFreq;
}
