// Where the base model comes from, as the page knows it (which includes local files that cannot be
// put in a link), and how it maps to the worker's ModelChoice and to the `model` setting of a
// shareable URL ('demo', an owner/name Hub id, or an http(s) base URL).
import { QloraError } from '../errors';
import type { ModelChoice } from '../worker/protocol';
import { parseModelInput } from './model-input';

export type ModelSource =
  | { kind: 'demo' }
  | { kind: 'hub'; id: string; revision: string }
  | { kind: 'url'; url: string }
  | { kind: 'files'; files: File[]; label: string };

export interface HubPreset {
  id: string;
  label: string;
  parameters: string;
  /** Gated on the Hub: the licence must be accepted there and a token given here. */
  gated: boolean;
  /** One line on what the model is good for here. */
  note: string;
}

/** Small models people fine-tune today, that train on a laptop GPU, smallest first. */
export const HUB_PRESETS: readonly HubPreset[] = [
  { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', label: 'SmolLM2 135M Instruct', parameters: '135 M', gated: false, note: 'the quickest real model: a first run in minutes' },
  { id: 'google/gemma-3-270m-it', label: 'Gemma 3 270M IT', parameters: '268 M', gated: true, note: 'made for task fine-tuning; 262k-token vocabulary (170 M of its weights are the embedding)' },
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', label: 'SmolLM2 360M Instruct', parameters: '362 M', gated: false, note: 'a step up from 135M at little extra memory' },
  { id: 'Qwen/Qwen2.5-0.5B-Instruct', label: 'Qwen2.5 0.5B Instruct', parameters: '494 M', gated: false, note: 'multilingual, good at following instructions' },
  { id: 'Qwen/Qwen3-0.6B', label: 'Qwen3 0.6B', parameters: '596 M', gated: false, note: "today's small Qwen, with a thinking mode in its chat template" },
  // Qwen3.5's parameter counts are of the text model this page trains (the checkpoint's vision tower is never fetched).
  { id: 'Qwen/Qwen3.5-0.8B', label: 'Qwen3.5 0.8B', parameters: '752 M', gated: false, note: 'hybrid: Gated DeltaNet linear attention in 3 of 4 layers; the text part of a vision-language checkpoint' },
  { id: 'google/gemma-3-1b-it', label: 'Gemma 3 1B IT', parameters: '1.0 B', gated: true, note: 'strong for its size; sliding-window attention keeps long inputs cheap' },
  { id: 'meta-llama/Llama-3.2-1B-Instruct', label: 'Llama 3.2 1B Instruct', parameters: '1.24 B', gated: true, note: 'the common baseline; needs a token' },
  { id: 'Qwen/Qwen3-1.7B', label: 'Qwen3 1.7B', parameters: '1.7 B', gated: false, note: 'a discrete GPU or a recent laptop' },
  { id: 'Qwen/Qwen3.5-2B', label: 'Qwen3.5 2B', parameters: '1.88 B', gated: false, note: 'the largest here: hybrid linear attention as Qwen3.5 0.8B; a discrete GPU' },
];

export const DEMO_MODEL_PATH = 'demo/tiny-llama/';
/** Eight capitals: facts the demo base (pretrained by scripts/pretrain-demo-base.py) was never taught. */
export const DEMO_DATA_PATH = 'demo/capitals.json';
/** One of them: the base answers it wrong, the adapter the demo trains answers "Paris.". */
export const DEMO_PROMPT = 'What is the capital of France?';

/**
 * From the `model` and `revision` settings (a link or the defaults), read as model-input.ts reads
 * what a person types. Something it refuses stays a `url` source; toChoice says what to type instead.
 */
export function sourceFromSetting(model: string, revision: string): ModelSource {
  const m = model.trim();
  if (m === 'demo') return { kind: 'demo' };
  const input = parseModelInput(m);
  if (input.kind === 'hub') return { kind: 'hub', id: input.id, revision: input.revision ?? (revision || 'main') };
  return { kind: 'url', url: input.kind === 'url' ? input.url : m };
}

/** The `model` setting for a source; local files have none (the setting keeps its last value). */
export function settingFromSource(source: ModelSource): string | null {
  switch (source.kind) {
    case 'demo': return 'demo';
    case 'hub': return source.id;
    case 'url': return source.url;
    case 'files': return null;
  }
}

export function toChoice(source: ModelSource, token: string): ModelChoice {
  const t = token.trim() || undefined;
  switch (source.kind) {
    case 'demo': return { kind: 'demo', baseUrl: new URL(DEMO_MODEL_PATH, location.href).href };
    case 'hub': return { kind: 'hub', id: source.id, revision: source.revision || 'main', token: t };
    // Relative URLs (a folder next to the page) are allowed in links; the worker needs them absolute.
    case 'url': {
      const input = parseModelInput(source.url);
      if (input.kind === 'invalid') throw new QloraError('ARGUMENT_INVALID', input.message);
      if (input.kind === 'hub') return { kind: 'hub', id: input.id, revision: input.revision ?? 'main', token: t };
      // The token is the Hub's: never sent to another server (the page shows no token field for one).
      return { kind: 'url', url: new URL(input.url, location.href).href };
    }
    case 'files': return { kind: 'files', files: source.files };
  }
}

const MODEL_KEY = 'qlora.model';

/** The chosen model outlives a reload (a link's own `model` wins); local files cannot be kept. */
export function rememberModel(source: ModelSource): void {
  const model = settingFromSource(source);
  if (model === null) return;
  try {
    localStorage.setItem(MODEL_KEY, JSON.stringify({ model, revision: source.kind === 'hub' ? source.revision : 'main' }));
  } catch {
    // Storage blocked (private mode): the choice lasts this visit.
  }
}

export function rememberedModel(): { model: string; revision: string } | null {
  try {
    const v = JSON.parse(localStorage.getItem(MODEL_KEY) ?? 'null') as { model?: unknown; revision?: unknown } | null;
    return v && typeof v.model === 'string' && typeof v.revision === 'string' ? { model: v.model, revision: v.revision } : null;
  } catch {
    return null;
  }
}

/** Identity of a source for "is this the model already loaded?". */
export function sourceSignature(source: ModelSource, quant: string): string {
  const what =
    source.kind === 'files' ? source.files.map((f) => `${f.webkitRelativePath || f.name}:${f.size}:${f.lastModified}`).join('|')
    : source.kind === 'hub' ? `${source.id}@${source.revision}`
    : source.kind === 'url' ? source.url
    : 'demo';
  return `${source.kind}:${what}:${quant}`;
}

export function describeSource(source: ModelSource): string {
  switch (source.kind) {
    case 'demo': return 'Demo (built-in tiny model)';
    case 'hub': return source.id + (source.revision && source.revision !== 'main' ? ` @ ${source.revision}` : '');
    case 'url': return source.url;
    case 'files': return source.label;
  }
}
