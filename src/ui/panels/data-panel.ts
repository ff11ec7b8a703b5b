// Data panel: the dataset from a file (Parquet too), pasted text, a URL, a Hub dataset or the built-in demo; how it is read
// (format, split, max length); and what the model will see — one example tokenized with the trained
// tokens marked apart from the masked prompt, plus every row that could not be used and why.
import { SETTING_HELP } from '../setting-help';
import { h, fill, uid } from '../dom';
import { formatInt } from '../format';
import { datasetGuidance, datasetProblem, datasetRows, describeError, recordWhere, rowTable } from '../error-view';
import { onErrorAction } from '../page-actions';
import { settingField } from '../fields';
import type { App } from '../app';
import type { AppState, DataInput } from '../state';
import { readDatasetFile } from '../../io/blob-buffer';
import type { DataSummary, TokenPreview } from '../../worker/protocol';
import type { DatasetFormat } from '../../data/records';
import type { DatasetCheck, DatasetProblem } from '../../data/dataset';
import { RECORD_FIELDS, formatColumnMapping, suggestColumnMapping } from '../../data/columns';
import type { ColumnMapping, RecordField } from '../../data/columns';
import type { Child } from '../dom';
import { metric, panel } from './panel';

/** A label per format of DATASET_FORMATS (the compiler asks for one when a format is added). */
const FORMAT_NAMES: Record<DatasetFormat, string> = {
  alpaca: 'Alpaca (instruction / input / output)',
  chat: 'Chat messages',
  completion: 'Prompt / completion',
  text: 'Plain text',
};

/** Whitespace made visible, since where a token starts matters. */
function tokenText(t: string): string {
  return t.replace(/\n/g, '↵\n').replace(/\t/g, '→');
}

function preview(tokens: TokenPreview[]): HTMLElement {
  const trained = tokens.filter((t) => t.trained).length;
  return h('figure', { class: 'token-preview' },
    h('figcaption', null,
      h('span', { class: 'tok masked legend' }, 'prompt (masked, no loss)'), ' ',
      h('span', { class: 'tok trained legend' }, 'response (trained)'), ' ',
      h('span', { class: 'muted' }, `${tokens.length} tokens, ${trained} trained`)),
    h('div', { class: 'tokens', tabindex: 0, 'aria-label': 'First example, tokenized' },
      tokens.map((t) => h('span', { class: `tok ${t.trained ? 'trained' : 'masked'}`, title: `${JSON.stringify(t.text)} — ${t.trained ? 'trained' : 'masked'}` }, tokenText(t.text)))));
}

function summaryView(d: DataSummary): HTMLElement {
  const skipped = [
    ...d.lineErrors.map((e) => ({ where: `line ${e.line}`, reason: e.reason })),
    ...d.recordErrors.map((e) => ({ where: recordWhere(e), reason: e.reason })),
  ];
  const unused = d.records - d.train - d.val;
  return h('div', { class: 'data-summary' },
    h('div', { class: 'metrics' },
      metric('File', d.fileName),
      metric('Detected format', FORMAT_NAMES[d.format] ?? d.format),
      // Records read, less those skipped, are the examples split below: the counts add up on the page.
      metric('Records', unused > 0 ? `${formatInt(d.records)} read − ${formatInt(unused)} skipped = ${formatInt(d.train + d.val)}` : formatInt(d.records), { records: '' }),
      metric('Train / validation', `${formatInt(d.train)} / ${formatInt(d.val)}`),
      metric('Tokens per example', `${formatInt(d.meanTokens)} mean, ${formatInt(d.maxTokens)} max`)),
    d.reading ? h('p', { class: 'help', dataset: { reading: d.format } }, `Read as ${d.reading}.`) : null,
    d.valCapped
      ? h('p', { class: 'help', dataset: { valCapped: String(d.valCapped.max) } },
        `Validation is capped at ${formatInt(d.valCapped.max)} examples (the split would hold out ${formatInt(d.valCapped.wanted)}; every evaluation runs them all): the other ${formatInt(d.valCapped.wanted - d.valCapped.max)} train. Raise "Max validation examples" to hold out more.`)
      : null,
    skipped.length
      ? h('div', { class: 'callout warn' }, h('p', null, h('b', null, `${skipped.length} row(s) skipped`), ' — they are not trained on:'), rowTable(skipped))
      : null,
    d.preview.length ? preview(d.preview) : null);
}

function messageWithFile(fileName: string, message: string): HTMLElement {
  return message.startsWith(fileName) ? h('p', null, message) : h('p', null, h('b', null, `${fileName}: `), message);
}

/** What the column mapping's choices say a field is read as. */
const FIELD_HELP: Record<RecordField, string> = {
  instruction: 'Alpaca: the task',
  input: 'Alpaca: optional context',
  output: 'Alpaca: the answer (trained)',
  messages: 'Chat: the list of {role, content}',
  prompt: 'Completion: the prompt',
  completion: 'Completion: the answer (trained)',
  text: 'Plain text (trained)',
};

const describeMapping = (m: ColumnMapping) => Object.entries(m).map(([field, column]) => `${column} → ${field}`).join(', ');

/** The Data panel's column mapping: one select per record field, the dataset's own columns as choices. */
function columnMapping(app: App): { view: HTMLDetailsElement; suggestion: (check: DatasetCheck) => HTMLElement | null } {
  const selects = new Map<RecordField, HTMLSelectElement>();
  const apply = (columns: ColumnMapping) => app.updateSettings({ columns });
  const read = (): ColumnMapping => Object.fromEntries([...selects].filter(([, el]) => el.value !== '').map(([f, el]) => [f, el.value]));
  const fields = RECORD_FIELDS.map((field) => {
    const id = uid(`column-${field}`);
    const select = h('select', { id, name: `column-${field}`, dataset: { column: field } });
    select.addEventListener('change', () => apply(read()));
    selects.set(field, select);
    return h('div', { class: 'field' }, h('label', { for: id }, field), select, h('small', { class: 'help' }, FIELD_HELP[field]));
  });
  const current = h('p', { class: 'help', dataset: { columnsSetting: '' } });
  let shown = '';
  const view = h('details', { class: 'column-mapping', dataset: { columnMapping: '' } },
    h('summary', null, 'Column mapping'),
    h('p', { class: 'help' }, SETTING_HELP.columns),
    h('div', { class: 'grid-3' }, fields), current);
  app.store.subscribe((s) => {
    const mapping = s.settings.columns ?? {};
    const found = s.dataInput && s.dataCheck?.fileName === s.dataInput.fileName ? s.dataCheck.columns : [];
    for (const [field, select] of selects) {
      const chosen = mapping[field] ?? '';
      const choices = [...new Set([...found, ...(chosen ? [chosen] : [])])];
      // Rebuilt only when the choices change, so an open select is not swept away under the pointer.
      const signature = JSON.stringify(choices);
      if (select.dataset.choices !== signature) {
        select.dataset.choices = signature;
        fill(select, h('option', { value: '' }, `(its own name, "${field}")`), choices.map((c) => h('option', { value: c }, c)));
      }
      select.value = chosen;
      select.disabled = app.settingsLocked();
    }
    const text = formatColumnMapping(mapping);
    if (text === shown) return;
    shown = text;
    current.textContent = text ? `In a link: columns=${text}; on the command line: --columns ${text}` : '';
    if (text) view.open = true; // a mapping from a link or a suggestion is shown, once
  });
  const suggestion = (check: DatasetCheck): HTMLElement | null => {
    const guess = suggestColumnMapping(check.columns);
    if (!guess) return null;
    return h('button', { type: 'button', class: 'primary', dataset: { action: 'use-suggested-columns' }, on: { click: () => apply(guess) } }, `Read ${describeMapping(guess)}`);
  };
  return { view, suggestion };
}

/** A dataset problem beside the file: the message, every row, and only the actions that can fix it. */
function problemView(app: App, problem: DatasetProblem | undefined, message: string, rows: { where: string; reason: string }[], check: DatasetCheck | null,
  mapping: ReturnType<typeof columnMapping>): HTMLElement {
  const fileName = app.store.get().dataInput?.fileName ?? 'The dataset';
  const guide = datasetGuidance(problem);
  const skipping = app.store.get().onInvalid === 'skip';
  const actions: Child[] = [];
  if (problem === 'rows' || (problem === undefined && rows.length)) {
    const usable = check?.usable;
    actions.push(h('button', { type: 'button', class: 'primary', dataset: { action: 'skip-bad-rows' }, disabled: skipping, on: { click: () => void onErrorAction(app, 'skip-bad-rows') } },
      skipping ? 'These rows will be skipped' : usable !== undefined ? `Skip these ${rows.length} rows, train on the other ${formatInt(usable)}` : 'Skip these rows, train on the rest'));
  }
  if (problem === 'columns') {
    const suggested = check ? mapping.suggestion(check) : null;
    if (suggested) actions.push(suggested);
    actions.push(h('button', { type: 'button', dataset: { action: 'map-columns' }, on: { click: () => void onErrorAction(app, 'map-columns') } }, 'Map the columns'));
  }
  const columnsFound = problem === 'columns' && check?.columns.length
    ? h('p', null, 'Columns found: ', check.columns.map((c, i) => [i ? ', ' : '', h('code', null, c)])) : null;
  return h('div', { class: `callout ${skipping && problem === 'rows' ? 'warn' : 'error'}`, dataset: { problem: problem ?? 'rows' } },
    h('p', null, h('b', null, guide.title)),
    messageWithFile(fileName, message),
    columnsFound,
    rows.length ? rowTable(rows) : null,
    h('ul', { class: 'error-advice' }, guide.advice.map((a) => h('li', null, a))),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}

/** The check's rows as the row table lists them, in file order. */
function checkRows(c: DatasetCheck): { where: string; reason: string }[] {
  return [...c.lineErrors.map((e) => ({ at: e.line, where: `line ${e.line}`, reason: e.reason })), ...c.recordErrors.map((e) => ({ at: e.line ?? e.index, where: recordWhere(e), reason: e.reason }))]
    .sort((a, b) => a.at - b.at).map(({ where, reason }) => ({ where, reason }));
}

/** The status line for a checked file that has not been tokenized yet. */
function checkedStatus(c: DatasetCheck, skipping: boolean, name = c.fileName): string {
  const format = c.format ? FORMAT_NAMES[c.format] : 'no known format';
  const head = `${name}: ${formatInt(c.records)} record(s) read, ${format}`;
  if (c.problem === null) return `${head}, every one usable. It is tokenized when the model is loaded.`;
  if (c.problem === 'rows' && skipping) return `${head}: ${formatInt(c.usable)} usable, the rows listed are skipped. It is tokenized when the model is loaded.`;
  return `${c.fileName} could not be used: see the problem above (${formatInt(c.records)} record(s) read, ${format}).`;
}

/** The dataset by name, with where it comes from when that is not plain. */
function inputName(input: DataInput): string {
  if (input.origin === 'demo') return `${input.fileName} (demo)`;
  if (input.origin === 'run') return `${input.fileName} (stored with the run${input.runName ? ` "${input.runName}"` : ''})`;
  if (input.kept) return `${input.fileName} (kept in this browser from before the reload)`;
  return input.fileName;
}

/** What the next Start trains on, in one line: never the demo while another dataset is in use. */
export function dataStatus(s: AppState): string {
  const input = s.dataInput;
  if (!input) {
    if (s.data) return `Using ${s.data.fileName}.`;
    return `No dataset chosen: training uses ${s.settings.data ? s.settings.data : 'the demo dataset'}.`;
  }
  const name = inputName(input);
  if (s.data) return `Using ${name}.`;
  if (describeError(s.error).code === 'DATASET_INVALID') return `${input.fileName} could not be used: see the problem above.`;
  if (input.origin === 'run') return `${name}: read when the run starts.`;
  const check = s.dataCheck?.fileName === input.fileName ? s.dataCheck : null;
  if (check) return checkedStatus(check, s.onInvalid === 'skip', name);
  return `${name}: being read.`;
}

export function dataPanel(app: App): HTMLElement {
  const store = app.store;
  const fileId = uid('data-file');
  const fileInput = h('input', { id: fileId, type: 'file', accept: '.json,.jsonl,.ndjson,.csv,.tsv,.txt,.parquet', class: 'file-input', name: 'data-file' });
  fileInput.addEventListener('change', () => {
    const f = fileInput.files?.[0];
    if (f) void app.guard(async () => app.setDataInput({ text: await readDatasetFile(f, f.name), fileName: f.name, origin: 'upload' }));
  });

  const pasteId = uid('paste');
  const paste = h('textarea', { id: pasteId, rows: 4, spellcheck: false, name: 'data-paste', placeholder: '[{"instruction": "…", "input": "", "output": "…"}]  or one JSON object per line, or CSV with a header' });
  const usePaste = h('button', { type: 'button', on: { click: () => paste.value.trim() && void app.setDataInput({ text: paste.value, fileName: 'pasted text', origin: 'paste' }) } }, 'Use pasted text');

  const urlId = uid('data-url');
  const urlInput = h('input', { id: urlId, type: 'url', name: 'data-url', placeholder: 'https://…/train.jsonl or owner/name[:split]', autocomplete: 'off' });
  const useUrl = h('button', { type: 'button', on: { click: () => urlInput.value.trim() && void app.loadDataUrl(urlInput.value.trim()) } }, 'Load');
  const useDemo = h('button', { type: 'button', on: { click: () => void app.useDemoData() } }, 'Use the demo dataset');

  const invalidId = uid('on-invalid');
  const onInvalid = h('select', { id: invalidId, name: 'on-invalid' },
    h('option', { value: 'stop' }, 'Stop and list them'),
    h('option', { value: 'skip' }, 'Skip them, train on the rest'));
  onInvalid.addEventListener('change', () => {
    store.set({ onInvalid: onInvalid.value as 'stop' | 'skip' });
    if (store.get().dataInput && store.get().model) void app.guard(() => app.applyData());
  });

  const status = h('p', { class: 'data-status', 'aria-live': 'polite' });
  const summary = h('div');
  // A dataset chosen before a reload that did not come back (or cannot be kept for the next one).
  const note = h('p', { class: 'callout warn data-note', role: 'status', hidden: true });
  // A dataset that cannot be used is reported here, beside the file, as well as in the page's banner.
  const problem = h('div', { class: 'data-problem', role: 'alert', hidden: true });
  const mapping = columnMapping(app);
  // The error a read raised (it includes what only tokenizing finds), else the chosen file's own check.
  const currentCheck = () => {
    const s = store.get();
    return s.dataInput && s.dataCheck?.fileName === s.dataInput.fileName ? s.dataCheck : null;
  };
  const showProblem = () => {
    const s = store.get();
    const check = currentCheck();
    if (describeError(s.error).code === 'DATASET_INVALID') {
      problem.hidden = false;
      return fill(problem, problemView(app, datasetProblem(s.error), describeError(s.error).message, datasetRows(s.error), check, mapping));
    }
    problem.hidden = !check?.problem || s.data !== null;
    if (problem.hidden || !check?.message) return fill(problem);
    fill(problem, problemView(app, check.problem ?? undefined, check.message, checkRows(check), check, mapping));
  };
  let seen: unknown[] = [];
  store.subscribe((s) => {
    const now = [s.error, s.dataCheck, s.onInvalid, s.data, s.dataInput];
    if (now.every((v, i) => v === seen[i])) return;
    seen = now;
    showProblem();
  });

  store.subscribe((s) => {
    const locked = app.settingsLocked();
    for (const el of [fileInput, paste, usePaste, urlInput, useUrl, useDemo, onInvalid]) el.disabled = locked;
    onInvalid.value = s.onInvalid;
    if (document.activeElement !== urlInput && s.settings.data && urlInput.value !== s.settings.data) urlInput.value = s.settings.data;
    status.textContent = dataStatus(s);
    status.dataset.origin = s.dataInput?.origin ?? (s.data ? 'worker' : s.settings.data ? 'url' : 'demo');
    note.hidden = !s.dataNote;
    note.textContent = s.dataNote ?? '';
    fill(summary, s.data ? summaryView(s.data) : null);
  });

  return panel('data', '2 · Data',
    'Instruction pairs (Alpaca), chat messages, prompt / completion, or plain text — as JSON, JSON Lines, CSV, Parquet or a .txt file (one document per blank-line-separated block), or a Hub dataset.',
    h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: fileId }, 'Upload a file'), fileInput),
      h('div', { class: 'field' }, h('label', { for: urlId }, 'Or a URL or Hub dataset'), h('div', { class: 'inline' }, urlInput, useUrl), h('small', { class: 'help' }, SETTING_HELP.data))),
    problem,
    h('div', { class: 'field' }, h('label', { for: pasteId }, 'Or paste records'), paste, h('div', { class: 'actions' }, usePaste, useDemo)),
    h('div', { class: 'grid-2' },
      settingField(app, {
        key: 'format',
        label: 'Format',
        kind: 'select',
        options: [{ value: 'auto', label: 'Detect' }, ...Object.entries(FORMAT_NAMES).map(([value, label]) => ({ value, label }))],
      }),
      h('div', { class: 'field' }, h('label', { for: invalidId }, 'Rows that cannot be used'), onInvalid,
        h('small', { class: 'help' }, "Rows that cannot be read or used are listed by the file's line number.")),
      settingField(app, { key: 'valSplit', label: 'Validation split', kind: 'number', min: 0, max: 0.5, step: 0.05 }),
      settingField(app, { key: 'valMax', label: 'Max validation examples', kind: 'int', min: 1, step: 50 }),
      settingField(app, { key: 'maxLength', label: 'Max length (tokens)', kind: 'int', min: 8, step: 8 }),
      settingField(app, { key: 'limit', label: 'Use only the first N records', kind: 'optional-int', min: 1, placeholder: 'all' }),
      settingField(app, { key: 'shuffle', label: 'Shuffle every epoch', kind: 'checkbox' })),
    mapping.view,
    note, status, summary);
}
