// BLEU / ROUGE of the adapter's greedy answers on validation records: each record's prompt is given to
// the model (as the page's evaluation does: prompt cut from the left to fit, greedy, stop at EOS), and
// the answers are scored against the records' reference answers (eval/generation-scores.ts).
import type { GpuContext } from '../gpu/context';
import type { GpuModelWeights } from './gpu-weights';
import type { GpuLora } from './gpu-lora';
import { Generator } from './generate';
import type { TextTokenizer } from '../data/tokenizer';
import type { DatasetFormat } from '../data/records';
import type { IndexedExample } from '../data/examples';
import { promptAndReference } from '../data/prompt-reference';
import { scoreGenerations } from '../eval/generation-scores';
import type { GenerationSample, GenerationScores } from '../eval/generation-scores';

export interface ScoredValidation extends GenerationScores {
  /** Records scored (plain-text records have no reference and are left out). */
  samples: number;
  /** Each scored record's prompt, reference and answer (what the page shows). */
  answers: GenerationSample[];
}

export interface ScoreOptions {
  onProgress?: (done: number, total: number) => void;
  /** Read during each answer and between them: false ends the evaluation with the answers so far. */
  shouldContinue?: () => boolean;
}

export async function scoreValidationAnswers(
  ctx: GpuContext, weights: GpuModelWeights, lora: GpuLora | null, tokenizer: TextTokenizer, eosTokenIds: readonly number[],
  data: { records: readonly unknown[]; format: DatasetFormat }, val: readonly IndexedExample[], maxSamples: number, maxNewTokens: number,
  opts: ScoreOptions = {},
): Promise<ScoredValidation | null> {
  const going = opts.shouldContinue ?? (() => true);
  const picked = val.slice(0, maxSamples).map((e) => promptAndReference(data.records[e.recordIndex], data.format, tokenizer)).filter((p) => p !== null);
  const samples: GenerationSample[] = [];
  const maxNew = Math.max(1, Math.min(maxNewTokens, weights.rope.maxPos - 1));
  for (const pr of picked) {
    if (!going()) break;
    const ids = tokenizer.encode(pr.prompt, { addSpecialTokens: data.format !== 'chat' });
    const promptIds = ids.slice(-(weights.rope.maxPos - maxNew));
    const gen = new Generator(ctx, weights, lora, promptIds.length + maxNew);
    try {
      const out = await gen.generate(promptIds, { maxNewTokens: maxNew, greedy: true, temperature: 1, topP: 1, seed: 0, eosTokenIds: [...eosTokenIds], shouldContinue: going });
      samples.push({ prompt: pr.prompt, reference: pr.reference, output: tokenizer.decode(out, { skipSpecialTokens: true }).trim() });
    } finally {
      gen.destroy();
    }
    opts.onProgress?.(samples.length, picked.length);
  }
  return samples.length ? { ...scoreGenerations(samples), samples: samples.length, answers: samples } : null;
}
