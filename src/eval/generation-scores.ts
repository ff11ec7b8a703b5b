// The scores of generated answers against the validation split's reference answers, as the page's
// evaluation panel and the CLI's end-of-run report give them: corpus BLEU (sacreBLEU's defaults) and
// the mean F-measure of ROUGE-1, -2, -L and -Lsum (rouge-score's defaults).
import { corpusBleu } from './bleu';
import { meanRouge } from './rouge';

export interface GenerationSample {
  prompt: string;
  reference: string;
  output: string;
}

export interface GenerationScores {
  bleu: number; // 0..100
  rouge1: number; // 0..1
  rouge2: number;
  rougeL: number;
  rougeLsum: number;
}

export function scoreGenerations(samples: readonly GenerationSample[]): GenerationScores {
  const rouge = meanRouge(samples.map((s) => s.reference), samples.map((s) => s.output));
  return {
    bleu: corpusBleu(samples.map((s) => s.output), samples.map((s) => s.reference)).score,
    rouge1: rouge.rouge1.fmeasure,
    rouge2: rouge.rouge2.fmeasure,
    rougeL: rouge.rougeL.fmeasure,
    rougeLsum: rouge.rougeLsum.fmeasure,
  };
}
