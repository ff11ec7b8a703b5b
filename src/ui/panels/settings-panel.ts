// Settings panel: every training and LoRA setting with its one-line help, target-module presets, and
// the memory the run will need before it starts — as a stacked bar by what the memory is for. When
// the run does not fit, the estimate says what to change and Start stays disabled.
import { ATTENTION_MODULES, LORA_MODULES } from '../../engine/lora';
import type { LoraModule } from '../../engine/lora';
import { SETTING_HELP } from '../../engine/run-settings';
import { h, fill, uid } from '../dom';
import { formatBytes } from '../format';
import { memoryBar, memoryDetails, memoryLegend } from '../bars';
import { settingField } from '../fields';
import type { App } from '../app';
import { onErrorAction } from '../page-actions';
import { panel } from './panel';

const MODULE_ROLE: Record<LoraModule, string> = {
  q_proj: 'attention query',
  k_proj: 'attention key',
  v_proj: 'attention value',
  o_proj: 'attention output',
  gate_proj: 'MLP gate',
  up_proj: 'MLP up',
  down_proj: 'MLP down',
};

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function targetField(app: App): HTMLElement {
  const boxes = LORA_MODULES.map((m) => {
    const id = uid(`t-${m}`);
    const input = h('input', { id, type: 'checkbox', value: m, name: 'target' });
    return { m, input, el: h('label', { class: 'chip', for: id }, input, h('code', null, m), h('span', { class: 'muted' }, MODULE_ROLE[m])) };
  });
  const err = h('small', { class: 'field-error', 'aria-live': 'polite' });
  const commit = (target: LoraModule[]) => {
    const ok = target.length > 0;
    err.textContent = ok ? '' : 'Choose at least one module.';
    app.setFieldValid('target', ok);
    if (ok) app.updateSettings({ target });
  };
  for (const b of boxes) b.input.addEventListener('change', () => commit(boxes.filter((x) => x.input.checked).map((x) => x.m)));
  const attention = h('button', { type: 'button', class: 'toggle', on: { click: () => commit([...ATTENTION_MODULES]) } }, 'Attention only');
  const all = h('button', { type: 'button', class: 'toggle', on: { click: () => commit([...LORA_MODULES]) } }, 'All linear layers (QLoRA paper)');
  app.store.subscribe((s) => {
    const locked = app.settingsLocked();
    for (const b of boxes) {
      b.input.checked = s.settings.target.includes(b.m);
      b.input.disabled = locked;
    }
    attention.disabled = all.disabled = locked;
    attention.setAttribute('aria-pressed', String(sameSet(s.settings.target, ATTENTION_MODULES)));
    all.setAttribute('aria-pressed', String(sameSet(s.settings.target, LORA_MODULES)));
  });
  return h('fieldset', { class: 'field targets' },
    h('legend', null, 'Target modules'),
    h('div', { class: 'actions' }, attention, all),
    h('div', { class: 'chips' }, boxes.map((b) => b.el)),
    h('small', { class: 'help' }, SETTING_HELP.target),
    err);
}

function memoryView(app: App): HTMLElement {
  const box = h('div', { class: 'memory', 'aria-live': 'polite' });
  app.store.subscribe((s) => {
    if (!s.model) return fill(box, h('p', { class: 'muted' }, 'Load a model to see how much GPU memory this run needs.'));
    if (s.memoryError) return fill(box, h('p', { class: 'callout warn' }, `No estimate: ${s.memoryError}`));
    const m = s.memory;
    if (!m) return fill(box, h('p', { class: 'muted' }, 'Estimating…'));
    fill(box,
      h('div', { class: 'memory-total' }, h('span', null, 'GPU memory for this run'), h('b', null, `≈ ${formatBytes(m.total)}`)),
      memoryBar(m),
      memoryLegend(m),
      m.fits
        ? h('p', { class: 'ok-text' }, '✓ Fits this GPU.')
        : h('div', { class: 'callout error', role: 'alert' },
            h('p', null, h('b', null, 'Does not fit: '), m.message ?? 'the run needs more memory than this GPU offers.'),
            h('p', null, 'Start is disabled until it fits.'),
            h('button', { type: 'button', on: { click: () => void onErrorAction(app, 'save-memory') } }, 'Apply memory-saving settings')),
      memoryDetails(m));
  });
  return box;
}

function derived(app: App): HTMLElement {
  const p = h('p', { class: 'derived muted', 'aria-live': 'polite' });
  app.store.subscribe((s) => {
    const st = s.settings;
    const scale = st.rslora ? st.loraAlpha / Math.sqrt(st.loraR) : st.loraAlpha / st.loraR;
    p.textContent = `Effective batch: ${st.batchSize * st.gradAccum} examples per update · adapter scale ${st.rslora ? 'α/√r' : 'α/r'} = ${Number(scale.toPrecision(3))}`;
  });
  return p;
}

export function settingsPanel(app: App): HTMLElement {
  const f = (spec: Parameters<typeof settingField>[1]) => settingField(app, spec);
  return panel('settings', '3 · Settings',
    'Defaults follow the QLoRA paper; the demo button picks settings that learn fast on the tiny model.',
    h('fieldset', { class: 'group' }, h('legend', null, 'Training'),
      h('div', { class: 'grid-2' },
        f({ key: 'steps', label: 'Steps', kind: 'optional-int', min: 1, placeholder: 'from epochs' }),
        f({ key: 'epochs', label: 'Epochs', kind: 'number', min: 0, step: 0.5 }),
        f({ key: 'batchSize', label: 'Batch size', kind: 'int', min: 1 }),
        f({ key: 'gradAccum', label: 'Gradient accumulation', kind: 'int', min: 1 }),
        f({ key: 'lr', label: 'Learning rate', kind: 'lr' }),
        f({ key: 'scheduler', label: 'Schedule', kind: 'select', options: [
          { value: 'constant', label: 'Constant (QLoRA paper)' },
          { value: 'linear', label: 'Linear decay' },
          { value: 'cosine', label: 'Cosine decay' },
        ] }),
        f({ key: 'warmup', label: 'Warmup steps', kind: 'int', min: 0 }),
        f({ key: 'weightDecay', label: 'Weight decay', kind: 'number', min: 0, step: 0.01 }),
        f({ key: 'maxGradNorm', label: 'Max gradient norm', kind: 'number', min: 0, step: 0.1 }),
        f({ key: 'seed', label: 'Seed', kind: 'int', min: 0 })),
      derived(app)),
    h('fieldset', { class: 'group' }, h('legend', null, 'LoRA adapter'),
      targetField(app),
      h('div', { class: 'grid-2' },
        f({ key: 'loraR', label: 'Rank r', kind: 'int', min: 1, max: 1024 }),
        f({ key: 'loraAlpha', label: 'Alpha α', kind: 'number', min: 0 }),
        f({ key: 'loraDropout', label: 'Dropout', kind: 'number', min: 0, max: 0.99, step: 0.05 }),
        f({ key: 'rslora', label: 'rsLoRA scaling', kind: 'checkbox' })),
      f({ key: 'initAdapter', label: 'Start from an adapter (URL)', kind: 'text', placeholder: 'https://…/my-adapter/ (optional)' })),
    h('fieldset', { class: 'group' }, h('legend', null, 'Memory, checkpoints, evaluation'),
      h('div', { class: 'grid-2' },
        f({ key: 'gradientCheckpointing', label: 'Gradient checkpointing', kind: 'checkbox' }),
        f({ key: 'checkpointEvery', label: 'Checkpoint every N steps', kind: 'int', min: 1 }),
        f({ key: 'evalEvery', label: 'Validate every N steps', kind: 'int', min: 1 }),
        f({ key: 'patience', label: 'Early-stopping patience', kind: 'int', min: 0 }))),
    h('h3', null, 'Memory estimate'),
    memoryView(app));
}
