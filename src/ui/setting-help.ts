// The one line of help the page shows under each setting's field (src/ui/fields.ts and the panels).
// The CLI says the same things in its own words, per option (src/cli/train-options.ts).
import type { RunSettings } from '../engine/run-settings';

/** One line each, shown next to the setting. */
export const SETTING_HELP: Record<keyof RunSettings, string> = {
  model: 'The base model: the built-in demo, a Hugging Face id, or a URL serving the Hub file layout.',
  revision: 'Branch, tag or commit of the Hub repository.',
  data: 'URL of the dataset (JSON, JSONL, CSV or Parquet), or a Hub dataset "owner/name" (":split", "/path/file.parquet", "@revision"); or upload / paste one.',
  format: 'Record format: Alpaca, chat messages, prompt/completion or plain text (detected when auto).',
  columns: 'Which column of the dataset holds each field, e.g. instruction=question,output=answer (empty: the fields\' own names).',
  limit: 'Use only the first N records.',
  shuffle: 'Shuffle the examples every epoch (off: file order).',
  valSplit: 'Fraction of records held out to measure validation loss, BLEU and ROUGE-L.',
  valMax: 'At most this many validation examples (the rest of the split trains): each evaluation runs them all.',
  maxLength: 'Examples longer than this many tokens are truncated; memory grows with it.',
  batchSize: 'Examples per forward pass; memory grows with it.',
  gradAccum: 'Forward passes whose gradients add up before each update (a larger effective batch).',
  steps: 'Optimizer updates to run (empty: from epochs).',
  epochs: 'Passes over the training data, when steps is empty.',
  lr: 'Peak learning rate of AdamW (QLoRA paper: 2e-4 for 7B-13B models, 1e-4 for larger ones).',
  scheduler: 'How the learning rate changes over the run after warmup.',
  warmup: 'Steps over which the learning rate ramps up from 0.',
  weightDecay: 'AdamW decoupled weight decay on the adapter weights.',
  maxGradNorm: 'Gradients are scaled down when their global norm exceeds this (0: no clipping).',
  loraR: 'Rank of the adapter matrices: capacity and size grow with it.',
  loraAlpha: 'Adapter scale numerator: the update is multiplied by alpha / r.',
  loraDropout: 'Dropout on the adapter input during training, against overfitting.',
  target: 'Which projections get an adapter: attention only, or all linear layers (QLoRA paper).',
  rslora: 'Rank-stabilized LoRA: scale by alpha / √r instead of alpha / r.',
  quant: 'Precision of the frozen base: NF4 (QLoRA, 4-bit), f16, or f32.',
  gradientCheckpointing: 'Recompute activations in the backward pass: much less memory, about a third slower.',
  seed: 'Seed of the adapter init, shuffling and dropout: the same seed repeats a run.',
  evalEvery: 'Measure validation loss every N steps.',
  checkpointEvery: 'Save adapter, optimizer state and data position every N steps (resume after a reload).',
  patience: 'Stop after N evaluations without a better validation loss (0: never).',
  initAdapter: 'URL of a PEFT adapter folder to continue from.',
};
