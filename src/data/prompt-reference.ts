// What a record asks and what it should answer, for scoring generations (BLEU, ROUGE) on the
// validation split: the page's evaluation and the CLI's end-of-run scores read records the same way.
import type { TextTokenizer } from './tokenizer';
import type { DatasetFormat } from './records';
import { formatAlpacaPrompt } from './examples';

/** Prompt (what the model is given) and reference (what it should answer) of a record, for BLEU / ROUGE-L. */
export function promptAndReference(record: unknown, format: DatasetFormat, tokenizer: TextTokenizer): { prompt: string; reference: string } | null {
  const r = record as Record<string, unknown>;
  switch (format) {
    case 'alpaca':
      return { prompt: formatAlpacaPrompt(String(r.instruction), typeof r.input === 'string' ? r.input : undefined), reference: String(r.output) };
    case 'completion':
      return { prompt: String(r.prompt), reference: String(r.completion) };
    case 'chat': {
      const messages = r.messages as { role: string; content: string }[];
      const last = messages[messages.length - 1];
      const prompt = tokenizer.applyChatTemplate(messages.slice(0, -1) as Parameters<TextTokenizer['applyChatTemplate']>[0], { addGenerationPrompt: true });
      return { prompt, reference: last.content };
    }
    default:
      return null; // plain text has no reference answer
  }
}
