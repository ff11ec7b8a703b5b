// Settings panel: named recipes (presets-picker.ts), every training and LoRA setting with its one-line help, target-module presets, and
// the memory the run will need before it starts — as a stacked bar by what the memory is for, and
// how that was judged (measured, the gpu-memory setting, or only the buffer limits). When the run
// does not fit, Start stays disabled and each fix is one click.
import { ATTENTION_MODULES, LORA_MODULES, modelLoraModules } from '../../engine/lora';
import type { LoraModule } from '../../engine/lora';
import { SETTING_HELP } from '../setting-help';
import type { MemoryReport } from '../../worker/protocol';
import { formatBytes as formatBinaryBytes } from '../../engine/memory-estimate';
import { h, fill, uid } from '../dom';
import { formatBytes } from '../format';
import { memoryBar, memoryDetails, memoryLegend } from '../bars';
import { settingField } from '../fields';
import type { App } from '../app';
import { panel } from './panel';
import { memoryFixButtons } from '../memory-fix-buttons';
import { presetsPicker } from '../presets-picker';

const MODULE_ROLE: Record<LoraModule, string> = {
  q_proj: 'attention query',
  k_proj: 'attention key',
  v_proj: 'attention value',
  o_proj: 'attention output',
  gate_proj: 'MLP gate',
  up_proj: 'MLP up',
  down_proj: 'MLP down',
  in_proj_qkv: 'linear attention q/k/v',
  in_proj_z: 'linear attention output gate',
  in_proj_b: 'linear attention write strength',
  in_proj_a: 'linear attention decay',
  out_proj: 'linear attention output',
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
    // Only the projections the loaded model has (a Llama has no in_proj_*; Qwen3.5's linear layers have no q_proj);
    // all of them before a model is loaded.
    const has = s.model ? new Set<string>(modelLoraModules(s.model.config)) : null;
    for (const b of boxes) {
      b.input.checked = s.settings.target.includes(b.m);
      b.input.disabled = locked;
      b.el.hidden = !!has && !has.has(b.m);
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

/** What the estimate box shows, for the tests and the CSS: data-memory on the box. */
type MemoryViewState = 'no-model' | 'invalid' | 'error' | 'estimating' | 'fits' | 'does-not-fit';

function memoryVerdict(app: App, m: MemoryReport): HTMLElement {
  if (m.fits) {
    return h('p', { class: 'ok-text' }, m.basis === 'not measured' ? "✓ Within this GPU's buffer limits (the total was not measured)." : '✓ Fits this GPU.');
  }
  return h('div', { class: 'callout error', role: 'alert' },
    h('p', null, h('b', null, 'Does not fit: '), m.message ?? 'the run needs more memory than this GPU offers.'),
    h('p', null, m.fixes.length ? 'Start is disabled until it fits. One click each:' : 'Start is disabled until it fits.'),
    memoryFixButtons(app, m, 'memoryFix'));
}

function memoryView(app: App): HTMLElement {
  const box = h('div', { class: 'memory', 'aria-live': 'polite' });
  const show = (state: MemoryViewState, ...children: (HTMLElement | null)[]) => {
    box.dataset.memory = state;
    fill(box, ...children);
  };
  app.store.subscribe((s) => {
    if (s.invalidFields.length) return show('invalid', h('p', { class: 'callout warn' }, 'Fix the field first: the memory estimate waits for valid settings.'));
    if (s.memoryError) return show('error', h('p', { class: 'callout warn' }, `No estimate: ${s.memoryError}`));
    const m = s.memory;
    if (!m) {
      return s.source.kind === 'files' && !s.source.files.length
        ? show('no-model', h('p', { class: 'muted' }, "Choose the model's files to see how much GPU memory this run needs."))
        : show('estimating', h('p', { class: 'muted' }, 'Estimating…'));
    }
    // The total in binary units too: the verdict and the gpu-memory setting speak in MiB / GiB.
    show(m.fits ? 'fits' : 'does-not-fit',
      h('div', { class: 'memory-total' }, h('span', null, 'GPU memory for this run'),
        h('b', null, `≈ ${formatBytes(m.total)} (${formatBinaryBytes(m.total)})`)),
      m.fromConfig ? h('p', { class: 'muted', dataset: { memoryFrom: 'config' } }, 'From config.json alone, before downloading the weights (embedding size from its declared dtype; examples as long as the max length).') : null,
      memoryBar(m),
      memoryLegend(m),
      memoryVerdict(app, m),
      h('p', { class: 'muted', dataset: { memoryBasis: m.basis } }, m.basisText),
      memoryDetails(m));
  });
  return box;
}

function derived(app: App): HTMLElement {
  const p = h('p', { class: 'derived muted', 'aria-live': 'polite' });
  app.store.subscribe((s) => {
    const st = s.settings;
    const scale = st.rslora ? st.loraAlpha / Math.sqrt(st.loraR) : st.loraAlpha / st.loraR;
    // While a field it is made from is being fixed, the last valid value would be stale: say so instead.
    const waits = (...keys: string[]) => keys.some((k) => s.invalidFields.includes(k));
    const batch = waits('batchSize', 'gradAccum') ? '— (waiting for a valid batch size and accumulation)' : `${st.batchSize * st.gradAccum} examples per update`;
    const value = waits('loraR', 'loraAlpha') ? '— (waiting for a valid rank and alpha)' : String(Number(scale.toPrecision(3)));
    p.textContent = `Effective batch: ${batch} · adapter scale ${st.rslora ? 'α/√r' : 'α/r'} = ${value}`;
  });
  return p;
}

export function settingsPanel(app: App): HTMLElement {
  const f = (spec: Parameters<typeof settingField>[1]) => settingField(app, spec);
  return panel('settings', '3 · Settings',
    'Defaults follow the QLoRA paper; the demo button picks settings that learn fast on the tiny model.',
    presetsPicker(app),
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
