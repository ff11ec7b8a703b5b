// Turns any failure into what a person can do about it: a title, the engine's own message (it says
// what was expected and found), advice for the error's code, and buttons for the actions that fix it
// (resume from the last checkpoint, resume the download, skip bad rows…). Non-QloraErrors are shown
// as unexpected, with their message, never as a blank page.
import { isQloraError } from '../errors';
import type { QloraErrorCode } from '../errors';
import { h, fill } from './dom';
import { SUPPORTED_MODELS } from '../formats/architectures';
import type { Child } from './dom';
import type { DatasetProblem } from '../data/dataset';

export type ErrorAction = 'resume-run' | 'retry-download' | 'open-storage' | 'skip-bad-rows' | 'map-columns' | 'halve-lr' | 'save-memory' | 'retry-init' | 'dismiss';

export interface ErrorDescription {
  code: QloraErrorCode | 'UNKNOWN';
  title: string;
  message: string;
  advice: Child[];
  /** Dataset rows that could not be used, "line 3" with the reason. */
  rows: { where: string; reason: string }[];
  actions: { action: ErrorAction; label: string }[];
}

const code = (text: string) => h('code', null, text);

interface Guidance {
  title: string;
  advice: Child[];
  actions: ErrorDescription['actions'];
}

function guidance(c: QloraErrorCode): Guidance {
  switch (c) {
    case 'WEBGPU_UNAVAILABLE':
      return {
        title: 'This browser cannot use the GPU through WebGPU',
        advice: [
          'Use Chrome or Edge 113+ (Windows, macOS, ChromeOS), Chrome 121+ on Android, Safari 26+, or Firefox 141+ on Windows.',
          ['On Linux, Chrome needs ', code('chrome://flags/#enable-unsafe-webgpu'), ' and ', code('chrome://flags/#enable-vulkan'), ' turned on.'],
          ['Open ', code('chrome://gpu'), ' and check that "WebGPU" says "Hardware accelerated"; update the GPU driver if it is blocklisted.'],
          'The page must be served over https or from localhost.',
        ],
        actions: [{ action: 'retry-init', label: 'Try again' }],
      };
    case 'ADAPTER_LIMITS':
      return {
        title: "This GPU's limits are too small for this run",
        advice: ['Choose a smaller model, or reduce the batch size or the max length so the largest buffer fits.', 'NF4 (QLoRA) keeps the base weights smallest.'],
        actions: [{ action: 'save-memory', label: 'Apply memory-saving settings' }],
      };
    case 'OUT_OF_MEMORY':
      return {
        title: 'The GPU ran out of memory',
        advice: [
          'Reduce the batch size (raise gradient accumulation to keep the effective batch) or the max length.',
          'Turn on gradient checkpointing: much less activation memory for about a third more time.',
          'Keep the base in NF4, and close other tabs that use the GPU.',
        ],
        actions: [{ action: 'save-memory', label: 'Apply memory-saving settings' }],
      };
    case 'DEVICE_LOST':
      return {
        title: 'The GPU was reset',
        advice: ['The driver reset the GPU (another app, sleep, a driver crash, or a too-long step). Nothing saved is lost: resume from the last checkpoint.'],
        actions: [{ action: 'resume-run', label: 'Resume from the last checkpoint' }],
      };
    case 'NUMERIC':
      return {
        title: 'Training stopped: the loss became NaN or infinite',
        advice: ['The last good checkpoint was restored. A lower learning rate (or a lower max grad norm) usually fixes this.'],
        actions: [{ action: 'halve-lr', label: 'Halve the learning rate' }, { action: 'resume-run', label: 'Resume from the last checkpoint' }],
      };
    case 'STORAGE':
      return {
        title: "The browser's storage is full or unavailable",
        advice: ['Delete cached models or old runs in the Storage panel, or ask the browser to keep data persistent (more quota).', 'Private windows have little storage.'],
        actions: [{ action: 'open-storage', label: 'Open the Storage panel' }],
      };
    case 'NETWORK':
      return {
        title: 'A download failed',
        advice: ['Check the connection and the address. Gated models (Llama) need a Hugging Face token with access granted.', 'Files already downloaded are kept: resuming continues where it stopped.'],
        actions: [{ action: 'retry-download', label: 'Resume the download' }],
      };
    case 'DATASET_INVALID':
      return {
        title: 'Some rows of the dataset cannot be used',
        advice: ['Fix them in the file, or skip them and train on the rest.'],
        actions: [{ action: 'skip-bad-rows', label: 'Skip these rows' }, { action: 'dismiss', label: 'Stop: I will fix the file' }],
      };
    case 'CONFIG_INVALID':
      return {
        title: 'This model or adapter configuration is not supported',
        advice: [`${SUPPORTED_MODELS} (Llama 2/3, SmolLM2, TinyLlama, Qwen2/2.5, Qwen3, Gemma 3 text). Adapters must be PEFT LoRA adapters saved as safetensors.`],
        actions: [],
      };
    case 'WEIGHTS_CORRUPT':
      return {
        title: 'A weights file is damaged or incomplete',
        advice: ['Delete the cached copy in the Storage panel and load the model again; if it came from your disk, copy the files again.'],
        actions: [{ action: 'open-storage', label: 'Open the Storage panel' }, { action: 'retry-download', label: 'Load again' }],
      };
    case 'TOKENIZER_INVALID':
      return { title: "The model's tokenizer files cannot be used", advice: ['The model folder needs tokenizer.json and tokenizer_config.json (with a chat_template for chat data).'], actions: [] };
    case 'ADAPTER_INVALID':
      // The adapter file is at fault here, never the cached model: nothing to delete in Storage.
      return {
        title: 'This adapter cannot be used',
        advice: [
          'Use an adapter trained on the same base model, with adapter_config.json and adapter_model.safetensors.',
          'If the message says the file is damaged, export or download the adapter again: the model itself is fine.',
        ],
        actions: [],
      };
    case 'ARGUMENT_INVALID':
      return { title: 'A setting is out of range', advice: ['Correct the setting named in the message.'], actions: [] };
    case 'INTERNAL':
      return { title: 'Something went wrong inside the fine-tuner', advice: ['This is a bug. Reloading the page is safe: checkpoints are kept and runs can be resumed.'], actions: [] };
  }
}

interface RowDetails {
  lineErrors?: { line: number; reason: string }[];
  errors?: { index: number; line?: number; reason: string }[];
}

function rowsOf(details: unknown): ErrorDescription['rows'] {
  if (typeof details !== 'object' || details === null) return [];
  const d = details as RowDetails;
  return [
    ...(Array.isArray(d.lineErrors) ? d.lineErrors.map((r) => ({ where: `line ${r.line}`, reason: r.reason })) : []),
    ...(Array.isArray(d.errors) ? d.errors.map((r) => ({ where: recordWhere(r), reason: r.reason })) : []),
  ];
}

/**
 * Advice for a dataset by its problem (DatasetProblem): skipping is offered only where some rows train,
 * the column mapping where the fields have other names, another file where there are no records.
 */
export function datasetGuidance(problem: DatasetProblem | undefined): Guidance {
  switch (problem) {
    case 'empty':
      return { title: 'The dataset is empty', advice: ['Choose another file, or save this one again with its records in it.'], actions: [] };
    case 'unreadable':
      return {
        title: 'The dataset cannot be read',
        advice: ['Fix the rows listed (or the setting their reasons name, such as Max length), or save the file again as JSON, JSON Lines, CSV or plain text: skipping them would leave nothing to train on.'],
        actions: [],
      };
    case 'columns':
      return {
        title: "The dataset's columns are not the fields of a format",
        advice: ['Say which column holds the instruction, the output, the messages or the text in "Column mapping" in the Data panel (in a link: columns=instruction=question,output=answer).'],
        actions: [{ action: 'map-columns', label: 'Map the columns' }],
      };
    default:
      return guidance('DATASET_INVALID');
  }
}

/** The kind of dataset problem a DATASET_INVALID error carries (absent in errors from before kinds existed). */
export function datasetProblem(e: unknown): DatasetProblem | undefined {
  if (!isQloraError(e) || e.code !== 'DATASET_INVALID') return undefined;
  const problem = (e.details as { problem?: unknown } | undefined)?.problem;
  return typeof problem === 'string' ? (problem as DatasetProblem) : undefined;
}

function httpStatus(details: unknown): number | null {
  const status = (details as { status?: unknown } | null | undefined)?.status;
  return typeof status === 'number' ? status : null;
}

/** A record's place as the file shows it: its line; the index only for records that came from no file. */
export function recordWhere(r: { index: number; line?: number }): string {
  return r.line !== undefined ? `line ${r.line}` : `record #${r.index}`;
}

/** The dataset rows a DATASET_INVALID error lists (the Data panel shows them beside the file). */
export function datasetRows(e: unknown): ErrorDescription['rows'] {
  return isQloraError(e) && e.code === 'DATASET_INVALID' ? rowsOf(e.details) : [];
}

export function describeError(e: unknown): ErrorDescription {
  if (isQloraError(e)) {
    const g = guidance(e.code);
    const rows = rowsOf(e.details);
    if (e.code === 'NETWORK' && httpStatus(e.details) === 404) {
      // A file that is not there does not come by resuming: the address is what to fix.
      return { code: e.code, title: 'The model or file was not found', message: e.message, rows, actions: [],
        advice: ['Check the address (a folder with config.json, tokenizer.json and model.safetensors), or the Hub id and revision.', 'Private and gated Hub models answer "not found" without a token that has access.'] };
    }
    if (e.code === 'DATASET_INVALID') {
      const d = datasetGuidance(datasetProblem(e));
      // Skipping only helps when there are rows to skip (and some left after).
      return { code: e.code, title: d.title, message: e.message, advice: d.advice, rows, actions: rows.length === 0 && d.actions[0]?.action === 'skip-bad-rows' ? [] : d.actions };
    }
    return { code: e.code, title: g.title, message: e.message, advice: g.advice, rows, actions: g.actions };
  }
  const message = e instanceof Error ? e.message : String(e);
  return {
    code: 'UNKNOWN',
    title: 'Unexpected error',
    message,
    advice: ['Reloading the page is safe: checkpoints are kept and runs can be resumed.'],
    rows: [],
    actions: [],
  };
}

export function errorCode(e: unknown): string {
  return isQloraError(e) ? e.code : 'UNKNOWN';
}

const SHOWN_ROWS = 200;

/** The dataset rows as a scrollable table (also used by the Data panel). */
export function rowTable(rows: ErrorDescription['rows']): HTMLElement {
  return h(
    'div',
    { class: 'row-errors', tabindex: 0, 'aria-label': 'Rows that cannot be used' },
    h('table', null,
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Where'), h('th', { scope: 'col' }, 'Reason'))),
      h('tbody', null, rows.slice(0, SHOWN_ROWS).map((r) => h('tr', null, h('td', null, r.where), h('td', null, r.reason))))),
    rows.length > SHOWN_ROWS ? h('p', { class: 'muted' }, `…and ${rows.length - SHOWN_ROWS} more.`) : null,
  );
}

/** Fills `container` with the error and its actions; an empty container when e is null. */
export function renderError(container: HTMLElement, e: unknown, onAction: (a: ErrorAction) => void): void {
  if (e === null || e === undefined) {
    fill(container);
    container.hidden = true;
    return;
  }
  const d = describeError(e);
  container.hidden = false;
  fill(
    container,
    h('div', { class: 'error-head' },
      h('h2', null, d.title),
      h('span', { class: 'error-code' }, d.code),
      h('button', { type: 'button', class: 'ghost', 'aria-label': 'Dismiss the error', dataset: { errorAction: 'dismiss' }, on: { click: () => onAction('dismiss') } }, '✕')),
    h('p', { class: 'error-message' }, d.message),
    // Dataset rows are listed in the Data panel, beside the file; the banner points there.
    d.rows.length && d.code === 'DATASET_INVALID'
      ? h('p', null, h('a', { href: '#data', dataset: { errorLink: 'data' } }, `The ${d.rows.length} row(s) are listed in the Data panel, beside the file.`))
      : d.rows.length ? rowTable(d.rows) : null,
    h('ul', { class: 'error-advice' }, d.advice.map((a) => h('li', null, a))),
    d.actions.length
      ? h('div', { class: 'actions' }, d.actions.map((a, i) =>
          h('button', { type: 'button', class: i === 0 ? 'primary' : '', dataset: { errorAction: a.action }, on: { click: () => onAction(a.action) } }, a.label)))
      : null,
  );
}
