// The adapter as a folder Hugging Face PEFT loads with `PeftModel.from_pretrained`: the weights and
// config exactly as peft-adapter.ts writes them, plus a short model card (README.md) saying what it
// is and how to load or merge it; and the same three files as one .zip for the browser download.
import type { LoraLayout } from '../engine/lora';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, adapterConfigJson, writeAdapterWeights } from '../engine/peft-adapter';
import { makeZip, type ZipOptions } from './zip';

export type AdapterFileName = typeof ADAPTER_WEIGHTS_FILE | typeof ADAPTER_CONFIG_FILE | 'README.md';

/** Optional facts about the run for the model card. */
export interface AdapterCardInfo {
  /** Base precision the adapter was trained against ('nf4' = QLoRA). */
  readonly quant?: 'nf4' | 'f16' | 'f32';
  readonly steps?: number;
  readonly dataset?: string;
  readonly finalLoss?: number;
  /** For a base that is not on the Hub (a URL, local files): where it came from. */
  readonly baseSource?: string;
}

const encoder = new TextEncoder();

/** The model card: PEFT's front matter (base_model, library_name) and loading instructions. */
export function adapterModelCard(layout: LoraLayout, baseModel: string | null, info: AdapterCardInfo = {}): string {
  const s = layout.settings;
  const base = baseModel ?? 'BASE_MODEL_ID';
  const frontMatter = ['---', ...(baseModel ? [`base_model: ${JSON.stringify(baseModel)}`] : []), 'library_name: peft', 'tags:', '- lora', ...(info.quant === 'nf4' ? ['- qlora'] : []), '---'];
  const facts = [
    `- LoRA r=${s.r}, alpha=${s.alpha}${s.rslora ? ' (rsLoRA)' : ''}, dropout=${s.dropout}, on ${s.targets.join(', ')}`,
    `- ${layout.parameterCount.toLocaleString('en-US')} trainable parameters`,
    ...(info.quant ? [`- base weights during training: ${info.quant === 'nf4' ? 'NF4 with double quantization (QLoRA)' : info.quant}`] : []),
    ...(info.dataset ? [`- dataset: ${info.dataset}`] : []),
    ...(info.steps !== undefined ? [`- ${info.steps} optimizer steps`] : []),
    ...(info.finalLoss !== undefined && Number.isFinite(info.finalLoss) ? [`- final training loss ${info.finalLoss.toFixed(4)}`] : []),
  ];
  return `${frontMatter.join('\n')}

# LoRA adapter${baseModel ? ` for ${baseModel}` : ''}

Trained in the browser on WebGPU (QLoRA fine-tuner). The files are in Hugging Face PEFT's format.

${facts.join('\n')}

## Load it

\`\`\`python
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel

base = AutoModelForCausalLM.from_pretrained(${JSON.stringify(base)}, dtype="auto", device_map="auto")
tokenizer = AutoTokenizer.from_pretrained(${JSON.stringify(base)})
model = PeftModel.from_pretrained(base, "path/to/this/folder")
\`\`\`

To deploy without PEFT, merge the adapter into the base weights:

\`\`\`python
merged = model.merge_and_unload()
merged.save_pretrained("merged-model")
tokenizer.save_pretrained("merged-model")
\`\`\`
${baseModel ? '' : info.baseSource
    ? `\nThe base model is not on the Hub: it came from ${info.baseSource}. Copy that folder (config.json, tokenizer files, *.safetensors) and put its local path in place of BASE_MODEL_ID.\n`
    : '\nThe base model was not recorded: replace BASE_MODEL_ID with the model this adapter was trained on.\n'}`;
}

/** adapter_model.safetensors, adapter_config.json and README.md as bytes. */
export function adapterFiles(layout: LoraLayout, params: Float32Array, baseModel: string | null, info: AdapterCardInfo = {}): Record<AdapterFileName, Uint8Array> {
  return {
    [ADAPTER_WEIGHTS_FILE]: writeAdapterWeights(layout, params),
    // PEFT writes the config with indent=2 and sorted keys; adapterConfigJson's keys are already sorted.
    // target_modules: the targets the model has ("all-linear" picks attention's on a Llama, in_proj_* too on Qwen3.5).
    [ADAPTER_CONFIG_FILE]: encoder.encode(JSON.stringify(adapterConfigJson({ ...layout.settings, targets: layout.settings.targets.filter((m) => layout.slots.some((s) => s.module === m)) }, baseModel), null, 2) + '\n'),
    'README.md': encoder.encode(adapterModelCard(layout, baseModel, info)),
  } as Record<AdapterFileName, Uint8Array>;
}

/** The three files as one .zip. */
export function adapterZip(layout: LoraLayout, params: Float32Array, baseModel: string | null, info: AdapterCardInfo = {}, zip: ZipOptions = {}): Uint8Array {
  return makeZip(adapterFiles(layout, params, baseModel, info), zip);
}
