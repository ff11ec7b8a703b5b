// `qlora export-gguf`: a PEFT adapter folder as a GGUF LoRA adapter for llama.cpp (`llama-cli --lora`),
// Ollama (`ADAPTER` in a Modelfile) and LM Studio; prints {"out","architecture","tensors","bytes"}.
// Only the base model's config.json is read (no weights, no GPU).
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { QloraError } from '../errors';
import type { OptionSpec, Parsed } from './args';
import { requireOpt } from './args';
import { readAdapterDir } from './setup';
import { readerFor } from '../io/node-files';
import { readModelConfig } from '../io/model-files';
import { ggufArchitecture, ggufLoraAdapter } from '../export/gguf-adapter';

export const EXPORT_GGUF_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', help: 'base model folder or http(s) base URL (only config.json is read)' },
  adapter: { type: 'string', help: 'PEFT adapter folder (adapter_config.json + adapter_model.safetensors)' },
  out: { type: 'string', help: 'the .gguf file to write' },
  name: { type: 'string', help: 'general.name (default: the adapter\'s base_model_name_or_path, else the model folder name)' },
};

export async function exportGguf(p: Parsed): Promise<void> {
  const cmd = 'export-gguf';
  const modelLoc = requireOpt<string>(p, 'model', cmd);
  const adapterDir = requireOpt<string>(p, 'adapter', cmd);
  const out = requireOpt<string>(p, 'out', cmd);
  if (!out.endsWith('.gguf')) throw new QloraError('ARGUMENT_INVALID', `--out must name a .gguf file; got "${out}".`);
  const config = await readModelConfig(readerFor(modelLoc));
  const { arch } = ggufArchitecture(config.modelType); // a family llama.cpp reads differently is refused before the adapter is read
  const adapter = await readAdapterDir(adapterDir, { config });
  const name = (p.name as string | undefined) ?? adapter.baseModel ?? (basename(modelLoc.replace(/\/+$/, '')) || 'adapter');
  const bytes = ggufLoraAdapter({ layout: adapter.layout, params: adapter.params, config, name });
  await writeFile(out, bytes);
  process.stdout.write(JSON.stringify({ out, architecture: arch, tensors: 2 * adapter.layout.slots.length, bytes: bytes.byteLength }) + '\n');
}
