// Named recipes for common fine-tunes, each with the one line that says why it is set this way, so
// choosing one teaches what the settings do. A preset sets the training and LoRA settings (from the
// defaults, so two presets in a row do not mix) and keeps what the person chose: the dataset, its
// format and limit, the seed, the adapter to start from — and the model, unless the recipe is about
// one. Every preset passes validateSettings (test/run-presets.test.ts).
import type { RunSettings } from './run-settings';
import { DEFAULT_SETTINGS, validateSettings } from './run-settings';
import { ATTENTION_MODULES, LORA_MODULES } from './lora';

export interface RunPreset {
  readonly id: string;
  readonly label: string;
  /** One line: why these settings suit this kind of fine-tune. */
  readonly why: string;
  readonly settings: Readonly<Partial<RunSettings>>;
}

/** The settings a preset leaves as the person chose them. */
const KEPT: readonly (keyof RunSettings)[] = ['model', 'revision', 'data', 'format', 'limit', 'seed', 'initAdapter'];

export const RUN_PRESETS: readonly RunPreset[] = [
  {
    id: 'chat-assistant',
    label: 'Chat assistant (Qwen3-0.6B)',
    why: 'Qwen3-0.6B already chats and fits a browser GPU in 4-bit; LoRA r=16 on all linear layers (the QLoRA paper\'s recipe) over 2 epochs teaches a tone and answer format from a few hundred conversations, and cosine decay settles the last steps.',
    settings: {
      model: 'Qwen/Qwen3-0.6B',
      maxLength: 1024, batchSize: 2, gradAccum: 8, epochs: 2, lr: 2e-4, scheduler: 'cosine', warmup: 10,
      loraR: 16, loraAlpha: 32, loraDropout: 0.05, target: [...LORA_MODULES], quant: 'nf4', gradientCheckpointing: true,
    },
  },
  {
    id: 'classifier',
    label: 'Classifier (a label per text)',
    why: 'Answers are one short label, so short examples (256 tokens) allow larger batches; a fifth held out with early stopping (patience 3) ends the run when validation loss stops improving, before it memorises the training texts.',
    settings: {
      maxLength: 256, batchSize: 8, gradAccum: 2, epochs: 3, lr: 1e-4, scheduler: 'linear', warmup: 10,
      valSplit: 0.2, evalEvery: 20, patience: 3,
      loraR: 8, loraAlpha: 16, loraDropout: 0.1, target: [...LORA_MODULES],
    },
  },
  {
    id: 'style-persona',
    label: 'Style or persona',
    why: 'A voice is a small change to how the model writes, not new knowledge: a low rank (8) on the attention projections, a gentle learning rate (1e-4) and dropout 0.1 keep it from copying the few examples word for word.',
    settings: {
      maxLength: 512, batchSize: 4, gradAccum: 2, epochs: 3, lr: 1e-4, scheduler: 'cosine', warmup: 5,
      loraR: 8, loraAlpha: 16, loraDropout: 0.1, target: [...ATTENTION_MODULES],
    },
  },
  {
    id: 'small-gpu',
    label: 'Small-GPU laptop',
    why: 'Memory grows with batch × length: one example of at most 256 tokens per pass, 8 passes accumulated (still 8 examples per update), gradient checkpointing (activations recomputed, not kept) and the base in 4-bit NF4 fit a few GB of integrated graphics.',
    settings: {
      maxLength: 256, batchSize: 1, gradAccum: 8, lr: 2e-4,
      loraR: 8, loraAlpha: 16, loraDropout: 0.05, target: [...ATTENTION_MODULES], quant: 'nf4', gradientCheckpointing: true,
    },
  },
];

export function findPreset(id: string): RunPreset | undefined {
  return RUN_PRESETS.find((p) => p.id === id);
}

/** `current` with the preset's recipe: the defaults, then the preset, with the person's choices kept. */
export function applyPreset(current: RunSettings, preset: RunPreset): RunSettings {
  const next: RunSettings = { ...DEFAULT_SETTINGS, target: [...DEFAULT_SETTINGS.target] };
  for (const k of KEPT) (next as unknown as Record<string, unknown>)[k] = current[k];
  Object.assign(next, preset.settings);
  return validateSettings(next);
}

/** The preset `s` matches (every setting it sets has its value), or null: the page marks it chosen. */
export function matchingPreset(s: RunSettings): RunPreset | null {
  return RUN_PRESETS.find((p) => Object.entries(p.settings).every(([k, v]) => JSON.stringify(s[k as keyof RunSettings]) === JSON.stringify(v))) ?? null;
}
