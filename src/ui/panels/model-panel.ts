// Model panel: which base model (the offline demo, a Hub model, any URL in the Hub layout, or files
// from this computer), its precision, loading it with download progress, and what was loaded.
import { SETTING_HELP } from '../setting-help';
import { h, fill, uid } from '../dom';
import { formatBytes, formatCount, formatDuration, formatPercent, formatRate } from '../format';
import { HUB_PRESETS, sourceSignature } from '../model-source';
import { parseModelInput } from '../model-input';
import type { ModelSource } from '../model-source';
import { settingField } from '../fields';
import type { App } from '../app';
import { metric, panel } from './panel';

function selectValue(source: ModelSource): string {
  if (source.kind === 'hub') return HUB_PRESETS.some((p) => p.id === source.id) ? `hub:${source.id}` : 'hub-custom';
  return source.kind;
}

function textInput(label: string, attrs: Record<string, unknown>, help?: string): { field: HTMLElement; input: HTMLInputElement } {
  const id = uid('m');
  const input = h('input', { id, type: 'text', autocomplete: 'off', spellcheck: false, ...attrs });
  const helpEl = help ? h('small', { id: `${id}-help`, class: 'help' }, help) : null;
  if (helpEl) input.setAttribute('aria-describedby', helpEl.id);
  return { field: h('div', { class: 'field' }, h('label', { for: id }, label), input, helpEl), input };
}

export function modelPanel(app: App): HTMLElement {
  const store = app.store;
  const sourceId = uid('model-source');
  const sourceSelect = h('select', { id: sourceId },
    h('option', { value: 'demo' }, 'Demo — built-in tiny model (works offline)'),
    h('optgroup', { label: 'Hugging Face Hub' },
      HUB_PRESETS.map((p) => h('option', { value: `hub:${p.id}`, title: p.note }, `${p.label} — ${p.parameters}${p.gated ? ' (gated: needs a token)' : ''} — ${p.note}`)),
      h('option', { value: 'hub-custom' }, 'Another Hub model…')),
    h('option', { value: 'url' }, 'A URL serving the Hub file layout…'),
    h('option', { value: 'files' }, 'Files or a folder on this computer…'));

  const hubId = textInput('Hub model id', { placeholder: 'owner/name', name: 'hub-id' }, 'As in huggingface.co/owner/name.');
  const revision = textInput('Revision', { placeholder: 'main', name: 'revision' }, SETTING_HELP.revision);
  const url = textInput('Base URL', { type: 'text', inputMode: 'url', placeholder: 'https://example.org/my-model/', name: 'model-url' },
    'huggingface.co/owner/name, or any address (https:// may be left out) of a folder with config.json, tokenizer.json, tokenizer_config.json and model.safetensors (or an index and shards).');
  const token = textInput('Hugging Face token', { type: 'password', placeholder: 'hf_…', name: 'hf-token', autocomplete: 'off' },
    'Needed for gated models (accept the license on the model page first). Kept in this tab only unless you tick "remember".');
  const rememberId = uid('remember');
  const remember = h('input', { id: rememberId, type: 'checkbox' });
  // In a form so password managers treat it as a credential field; it is never submitted.
  const tokenBox = h('form', { class: 'subfields', on: { submit: (e: Event) => e.preventDefault() } }, token.field,
    h('div', { class: 'field check' }, remember, h('label', { for: rememberId }, 'Remember the token in this browser')));

  const folderId = uid('folder');
  const filesId = uid('files');
  const folderInput = h('input', { id: folderId, type: 'file', multiple: true, webkitdirectory: true, class: 'file-input' });
  const filesInput = h('input', { id: filesId, type: 'file', multiple: true, accept: '.json,.safetensors', class: 'file-input' });
  const filesBox = h('div', { class: 'subfields' },
    h('div', { class: 'field' }, h('label', { for: folderId }, 'A model folder'), folderInput),
    h('div', { class: 'field' }, h('label', { for: filesId }, 'Or the files'), filesInput,
      h('small', { class: 'help' }, 'config.json, tokenizer.json, tokenizer_config.json and the .safetensors file(s). Nothing is uploaded anywhere.')));

  const hubBox = h('div', { class: 'subfields' }, hubId.field, revision.field);

  const readSource = (): ModelSource => {
    const v = sourceSelect.value;
    const rev = revision.input.value.trim() || 'main';
    if (v.startsWith('hub:')) return { kind: 'hub', id: v.slice(4), revision: rev };
    if (v === 'hub-custom') return { kind: 'hub', id: hubId.input.value.trim(), revision: rev };
    if (v === 'url') {
      // Read as typed text is read. A Hub model left in the field from before is not a URL to use: the
      // field starts empty (the estimate says what to type); one that cannot be read stays as typed.
      const input = parseModelInput(url.input.value);
      if (input.kind === 'hub') url.input.value = '';
      return { kind: 'url', url: input.kind === 'url' ? input.url : url.input.value.trim() };
    }
    if (v === 'files') {
      const files = [...(folderInput.files?.length ? folderInput.files : filesInput.files ?? [])];
      const folder = files[0]?.webkitRelativePath?.split('/')[0];
      return { kind: 'files', files, label: files.length ? `${folder || 'Local files'} (${files.length} files)` : 'No files chosen' };
    }
    return { kind: 'demo' };
  };
  const commitSource = () => app.setSource(readSource());
  sourceSelect.addEventListener('change', commitSource);
  revision.input.addEventListener('change', commitSource);
  // A typed id or address is read as meant (huggingface.co/owner/name is a Hub model, example.com/x
  // is https://example.com/x); what cannot be read stays at the field, saying what to type.
  const typed = (field: { field: HTMLElement; input: HTMLInputElement }) => {
    const err = h('small', { id: `${field.input.id}-err`, class: 'field-error', 'aria-live': 'polite' });
    field.field.append(err);
    field.input.setAttribute('aria-describedby', `${field.input.getAttribute('aria-describedby') ?? ''} ${err.id}`.trim());
    field.input.addEventListener('change', () => {
      const input = parseModelInput(field.input.value);
      err.textContent = input.kind === 'invalid' ? input.message : '';
      field.input.setAttribute('aria-invalid', String(input.kind === 'invalid'));
      if (input.kind === 'hub') app.setSource({ kind: 'hub', id: input.id, revision: input.revision ?? (revision.input.value.trim() || 'main') });
      else if (input.kind === 'url') app.setSource({ kind: 'url', url: input.url });
    });
    return err;
  };
  const hubIdError = typed(hubId);
  const urlError = typed(url);
  folderInput.addEventListener('change', () => {
    filesInput.value = '';
    commitSource();
  });
  filesInput.addEventListener('change', () => {
    folderInput.value = '';
    commitSource();
  });
  const commitToken = () => app.setToken(token.input.value, remember.checked);
  token.input.addEventListener('change', commitToken);
  remember.addEventListener('change', commitToken);

  const loadButton = h('button', { type: 'button', class: 'primary', dataset: { action: 'load-model' }, on: { click: () => void app.loadModel() } }, 'Load model');
  const loadState = h('span', { class: 'muted', 'aria-live': 'polite' });
  const progress = h('div', { class: 'download', hidden: true, 'aria-live': 'polite' });
  const summary = h('div', { class: 'model-summary' });

  store.subscribe((s) => {
    const v = selectValue(s.source);
    if (sourceSelect.value !== v) sourceSelect.value = v;
    if (s.source.kind === 'hub') {
      if (document.activeElement !== hubId.input) hubId.input.value = s.source.id;
      if (document.activeElement !== revision.input) revision.input.value = s.source.revision;
    }
    if (s.source.kind === 'url' && document.activeElement !== url.input) url.input.value = s.source.url;
    if (document.activeElement !== token.input) token.input.value = s.token;
    remember.checked = app.rememberToken.value;
    hubBox.hidden = s.source.kind !== 'hub';
    hubId.field.hidden = v !== 'hub-custom';
    // A token is the Hub's: a plain URL model never gets one (it would be sent to that server).
    tokenBox.hidden = s.source.kind !== 'hub';
    if (s.source.kind !== 'hub' && document.activeElement !== hubId.input) hubIdError.textContent = '';
    if (s.source.kind !== 'url' && document.activeElement !== url.input) urlError.textContent = '';
    url.field.hidden = s.source.kind !== 'url';
    filesBox.hidden = s.source.kind !== 'files';
    const locked = app.settingsLocked();
    for (const el of [sourceSelect, hubId.input, revision.input, url.input, folderInput, filesInput]) el.disabled = locked;
    loadButton.disabled = locked;

    const current = s.model && s.modelSig === sourceSignature(s.source, s.settings.quant);
    loadState.textContent = s.busy === 'Loading the model' ? 'Loading…'
      : current ? 'Loaded'
      : s.model ? 'Changed since loaded: load again (Start does it too)'
      : s.runModel ? `${s.runModel}: restored by the resumed run`
      : 'Not loaded yet — Start loads it too';

    const d = s.download;
    progress.hidden = !d || s.phase !== 'loading';
    if (d) {
      const frac = d.total > 0 ? d.loaded / d.total : null;
      fill(progress,
        h('div', { class: 'download-phase' }, d.phase),
        h('progress', { max: 1, value: frac ?? undefined, 'aria-label': d.phase }),
        h('div', { class: 'muted' },
          d.total > 0 ? `${formatBytes(d.loaded)} of ${formatBytes(d.total)} (${formatPercent(frac ?? 0, 0)})` : formatBytes(d.loaded),
          d.bytesPerSecond > 0 ? ` · ${formatRate(d.bytesPerSecond)}` : '',
          d.etaSeconds !== null ? ` · ${formatDuration(d.etaSeconds)} left` : ''));
    }

    if (!s.model) {
      fill(summary);
    } else {
      const m = s.model;
      const c = m.config;
      fill(summary,
        h('h3', null, m.name, m.fromCache ? h('span', { class: 'badge' }, 'from cache') : null),
        h('div', { class: 'metrics' },
          metric('Parameters', formatCount(m.parameters)),
          metric('Base on GPU', `${formatBytes(m.gpuBytes)} (${m.quant.toUpperCase()})`),
          metric('Layers', String(c.numLayers)),
          metric('Hidden', String(c.hiddenSize)),
          metric('Heads (KV)', `${c.numHeads} (${c.numKvHeads})`),
          metric('Vocabulary', formatCount(c.vocabSize)),
          metric('Context', formatCount(c.maxPositionEmbeddings)),
          metric('Type', c.modelType)));
    }
  });

  return panel('model', '1 · Model',
    'The frozen base model. The demo works offline; Hub models download once and stay cached.',
    h('div', { class: 'field' }, h('label', { for: sourceId }, 'Base model'), sourceSelect, h('small', { class: 'help' }, SETTING_HELP.model)),
    hubBox, url.field, tokenBox, filesBox,
    settingField(app, {
      key: 'quant',
      label: 'Base precision',
      kind: 'select',
      options: [
        { value: 'nf4', label: 'NF4 — 4-bit (QLoRA, least memory)' },
        { value: 'f16', label: 'f16 — 16-bit (LoRA)' },
        { value: 'f32', label: 'f32 — 32-bit (LoRA, most memory)' },
      ],
    }),
    h('div', { class: 'actions' }, loadButton, loadState),
    progress, summary);
}
