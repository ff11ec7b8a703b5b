// Where a run's adapter starts, for the page's session and `qlora train` alike: fresh (LoRA's seeded
// init with the run's LoRA settings) or an initial adapter, whose own LoRA settings then replace the
// run's (its shapes are what they are).
import { QloraError } from '../errors';
import type { ModelConfig } from '../formats/model-config';
import { initLoraParams, loraLayout } from '../engine/lora';
import type { LoraLayout, LoraSettings } from '../engine/lora';
import { openAdapterWeights, parseAdapterConfig, readAdapterWeights, ADAPTER_CONFIG_FILE } from '../engine/peft-adapter';
import type { RunSettings } from '../engine/run-settings';

export function loraSettingsOf(s: RunSettings): LoraSettings {
  return { r: s.loraR, alpha: s.loraAlpha, dropout: s.loraDropout, targets: s.target, rslora: s.rslora };
}

export interface AdapterStart {
  /** The run's settings, with an initial adapter's LoRA settings in place of the requested ones. */
  settings: RunSettings;
  layout: LoraLayout;
  params: Float32Array;
}

export function adapterStart(config: ModelConfig, settings: RunSettings, initial: { layout: LoraLayout; params: Float32Array } | null): AdapterStart {
  if (initial) {
    const l = initial.layout.settings;
    return { settings: { ...settings, loraR: l.r, loraAlpha: l.alpha, loraDropout: l.dropout, target: [...l.targets], rslora: l.rslora }, layout: initial.layout, params: initial.params };
  }
  const layout = loraLayout(config, loraSettingsOf(settings));
  return { settings, layout, params: initLoraParams(layout, settings.seed) };
}

/** A PEFT adapter from its two files' contents (adapter_config.json's text, adapter_model.safetensors' bytes). */
export function adapterFromFiles(config: ModelConfig, configText: string, weights: Uint8Array): { layout: LoraLayout; params: Float32Array } {
  let json: unknown;
  try {
    json = JSON.parse(configText);
  } catch (e) {
    throw new QloraError('CONFIG_INVALID', `${ADAPTER_CONFIG_FILE} is not valid JSON: ${(e as Error).message}`);
  }
  const layout = loraLayout(config, parseAdapterConfig(json, ADAPTER_CONFIG_FILE).settings);
  return { layout, params: readAdapterWeights(openAdapterWeights(weights), layout) };
}
