// The dataset as the session (and qlora train) holds it: records, examples, the train / validation
// split, and what the page shows about it (format, counts, problems by line or record, a token-level
// preview of what is trained and what is masked).
import type { TextTokenizer } from '../data/tokenizer';
import { prepareDataset } from '../data/dataset';
import { describePlainText } from '../data/dataset-text';
import type { DatasetProgress, PreparedDataset } from '../data/dataset';
import type { IndexedExample } from '../data/examples';
import { IGNORE_INDEX } from '../data/examples';
import type { RunSettings } from '../engine/run-settings';
import { splitExamples } from '../data/split';
import type { DataSummary, TokenPreview } from '../worker/protocol';

export interface LoadedData {
  text: string;
  fileName: string;
  onInvalid: 'stop' | 'skip';
  prepared: PreparedDataset;
  train: IndexedExample[];
  val: IndexedExample[];
  /** The validation examples valSplit alone would hold out (more than val.length when valMax capped it). */
  valWanted: number;
  valMax: number;
}

export function loadData(text: string, fileName: string, tokenizer: TextTokenizer, s: RunSettings, onInvalid: 'stop' | 'skip', onProgress?: (p: DatasetProgress) => void): LoadedData {
  const prepared = prepareDataset(text, fileName, tokenizer, {
    format: s.format === 'auto' ? undefined : s.format,
    columns: s.columns ?? {}, // runs stored before the mapping existed have none
    limit: s.limit ?? undefined,
    maxLength: s.maxLength,
    onInvalid,
    ...(onProgress ? { onProgress } : {}),
  });
  // Runs stored before valMax existed have none: uncapped, as they were split, so a resume sees the same examples.
  const valMax = s.valMax ?? Infinity;
  const { train, val, valWanted } = splitExamples(prepared.examples, s.valSplit, s.seed, valMax);
  return { text, fileName, onInvalid, prepared, train, val, valWanted, valMax };
}

/** Each token of one example, decoded on its own, marked trained when its label takes loss. */
export function tokenPreview(e: IndexedExample, tokenizer: TextTokenizer, maxTokens = 256): TokenPreview[] {
  return e.inputIds.slice(0, maxTokens).map((id, t) => ({ text: tokenizer.decode([id]), trained: e.labels[t] !== IGNORE_INDEX }));
}

export function summarize(d: LoadedData, tokenizer: TextTokenizer): DataSummary {
  const lengths = d.prepared.examples.map((e) => e.inputIds.length);
  return {
    fileName: d.fileName,
    format: d.prepared.format,
    records: d.prepared.records.length,
    train: d.train.length,
    val: d.val.length,
    valCapped: d.valWanted > d.val.length ? { wanted: d.valWanted, max: d.valMax } : null,
    lineErrors: d.prepared.lineErrors,
    recordErrors: d.prepared.recordErrors,
    reading: d.prepared.syntax === 'text' ? describePlainText(d.prepared.records.length) : null,
    preview: d.prepared.examples.length ? tokenPreview(d.prepared.examples[0], tokenizer) : [],
    meanTokens: lengths.reduce((a, b) => a + b, 0) / Math.max(1, lengths.length),
    maxTokens: lengths.reduce((a, b) => Math.max(a, b), 0), // not Math.max(...): 300k arguments overflow the stack
  };
}
