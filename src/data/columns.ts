// Column mapping: which of a dataset's own fields holds each field a record format reads (a
// "question" column as the instruction, "answer" as the output), as LLaMA-Factory's dataset_info.json
// `columns` and AutoTrain's column mapping allow. One mapping, written "instruction=question,output=answer",
// is read the same way by the page, its URL (`columns=`), the CLI (`--columns`) and the exported script.
import { QloraError } from '../errors';

/** Every field a record format reads (records.ts), in the order the page lists them. */
export const RECORD_FIELDS = ['instruction', 'input', 'output', 'messages', 'prompt', 'completion', 'text'] as const;
export type RecordField = (typeof RECORD_FIELDS)[number];

/** Record field → the dataset's column that holds it; fields not named are read under their own name. */
export type ColumnMapping = Readonly<Partial<Record<RecordField, string>>>;

/** The dataset column a field is read from. */
export function columnOf(columns: ColumnMapping, field: RecordField): string {
  return columns[field] ?? field;
}

/** How a field is named in a message: `"question" (the instruction column)` when mapped, else `"instruction"`. */
export function fieldName(columns: ColumnMapping, field: RecordField): string {
  const column = columns[field];
  return column === undefined || column === field ? `"${field}"` : `"${column}" (the ${field} column)`;
}

/** "instruction=question,output=answer" → the mapping; an empty text is no mapping. */
export function parseColumnMapping(text: string): ColumnMapping {
  const mapping: Partial<Record<RecordField, string>> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const field = (eq < 0 ? part : part.slice(0, eq)).trim();
    const column = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!(RECORD_FIELDS as readonly string[]).includes(field)) {
      throw new QloraError('ARGUMENT_INVALID', `Column mapping "${text}": "${field}" is not a record field. Write field=column pairs separated by commas, e.g. instruction=question,output=answer; the fields are ${RECORD_FIELDS.join(', ')}.`);
    }
    if (column === '') throw new QloraError('ARGUMENT_INVALID', `Column mapping "${text}": "${field}" needs the dataset's column after "=", e.g. ${field}=my_column.`);
    if (mapping[field as RecordField] !== undefined) throw new QloraError('ARGUMENT_INVALID', `Column mapping "${text}" names "${field}" twice: keep one.`);
    mapping[field as RecordField] = column;
  }
  return mapping;
}

/** The mapping as "field=column,…" in RECORD_FIELDS order (the URL, the CLI option, the run's name for it). */
export function formatColumnMapping(columns: ColumnMapping): string {
  return RECORD_FIELDS.filter((f) => columns[f] !== undefined).map((f) => `${f}=${columns[f]}`).join(',');
}

/** Column names people give these fields, for the page's suggestion when no record fits a format. */
const USUAL_NAMES: Record<RecordField, readonly string[]> = {
  instruction: ['question', 'query', 'instructions', 'task', 'problem', 'human', 'user', 'input_text'],
  input: ['context', 'inputs', 'passage'],
  output: ['answer', 'response', 'responses', 'target', 'solution', 'assistant', 'output_text', 'label'],
  messages: ['conversations', 'conversation', 'dialog', 'dialogue', 'chat', 'turns'],
  prompt: [],
  completion: [],
  text: ['content', 'body', 'document', 'sentence', 'story'],
};

/**
 * A mapping guessed from a dataset's column names (lower-cased matches of the names above), when it
 * makes a whole format: instruction and output, messages, or text. Null when nothing fits.
 */
export function suggestColumnMapping(found: readonly string[]): ColumnMapping | null {
  const pick = (field: RecordField) => found.find((c) => USUAL_NAMES[field].includes(c.toLowerCase()));
  const instruction = pick('instruction');
  const output = pick('output');
  if (instruction !== undefined && output !== undefined) {
    const input = pick('input');
    return input !== undefined ? { instruction, input, output } : { instruction, output };
  }
  const messages = pick('messages');
  if (messages !== undefined) return { messages };
  const text = pick('text');
  return text !== undefined ? { text } : null;
}
