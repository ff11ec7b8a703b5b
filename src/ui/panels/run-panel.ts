// Run panel: Start / Pause / Resume / Stop, progress with elapsed time, ETA and tokens per second,
// what happens before the first step, the chart of training loss, validation loss and learning rate,
// and every run stored from earlier sessions: resumed from its last checkpoint, opened (its adapter
// exported or tried), or compared with others (nothing trained is lost to a reload).
import { h, fill } from '../dom';
import { formatDate, formatDuration, formatInt, formatLoss, formatLr } from '../format';
import { LineChart } from '../chart';
import type { App } from '../app';
import type { AppState, RunView } from '../state';
import { metric, panel } from './panel';
import { runComparison } from '../run-compare';
import { startBlocker } from '../start-blocker';
import { memoryFixButtons } from '../memory-fix-buttons';

/** Scrolls to a setting's control (its `name` is the setting's key) and focuses it. */
function fieldControl(key: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(`[name="${CSS.escape(key)}"]`);
}

/** A setting's name as its field's label (or legend) shows it. */
function fieldLabel(key: string): string {
  const el = fieldControl(key);
  const text = (el as HTMLInputElement | null)?.labels?.[0]?.textContent ?? el?.closest('fieldset')?.querySelector('legend')?.textContent;
  return text?.trim() || key;
}

function focusField(key: string): void {
  const el = fieldControl(key);
  el?.scrollIntoView({ block: 'center' });
  el?.focus();
}

const STATE_TEXT: Record<string, string> = {
  training: 'Training',
  paused: 'Paused',
  stopped: 'Stopped',
  done: 'Finished',
  'early-stopped': 'Stopped early (validation loss stopped improving)',
  created: 'Created',
};

/** A listed run (never the one this page runs) still marked training or paused was cut off by a reload or a crash. */
function storedStateText(state: string): string {
  return state === 'training' || state === 'paused' ? 'Interrupted (resume it from its last checkpoint)' : STATE_TEXT[state] ?? state;
}

function elapsedMs(run: RunView): number {
  // Between step events the clock keeps moving, unless paused.
  return run.state === 'training' && run.lastEventAt ? run.elapsedMs + (performance.now() - run.lastEventAt) : run.elapsedMs;
}

/**
 * From the recent pace of the steps after this session's first: that one compiles the GPU pipelines
 * and can take as long as ten later ones, so an ETA from it alone is wildly off. Null until known.
 */
export function etaSeconds(run: RunView): number | null {
  const remaining = run.totalSteps - run.step;
  if (run.step === 0 || remaining <= 0) return remaining <= 0 && run.step > 0 ? 0 : null;
  const warm = run.history.filter((p) => p.step > (run.firstSessionStep ?? 0) && p.ms > 0).slice(-20);
  if (warm.length === 0) return null;
  const msPerStep = warm.reduce((a, p) => a + p.ms, 0) / warm.length;
  return (msPerStep * remaining) / 1000;
}

function statusText(s: AppState, stopping: boolean): string {
  if (s.phase === 'loading') return `${s.busy ?? 'Loading'}${s.download ? `: ${s.download.phase}` : ''}…`;
  if (stopping && (s.run.state === 'training' || s.run.state === 'paused')) return 'Stopping: the step on the GPU finishes and is saved, then the run stops…';
  if (s.run.state === 'training' && s.run.phase) return `Step ${s.run.step + 1} is coming: ${s.run.phase}…`;
  if (s.phase === 'error') return 'Stopped by an error (see above).';
  if (s.run.state) return STATE_TEXT[s.run.state] ?? s.run.state;
  if (s.invalidFields.length || (s.memory && !s.memory.fits)) return 'Not ready: see why above.';
  return 'Ready. Start trains with the settings on the left; "Try the demo" needs nothing else.';
}

export function runPanel(app: App): HTMLElement {
  const store = app.store;
  const start = h('button', { type: 'button', class: 'primary big', dataset: { action: 'start' }, on: { click: () => void app.runs.start() } }, '▶ Start training');
  const pause = h('button', { type: 'button', dataset: { action: 'pause' }, on: { click: () => void app.runs.pause() } }, '❚❚ Pause');
  const resume = h('button', { type: 'button', dataset: { action: 'resume' }, on: { click: () => void app.runs.resume() } }, '▶ Resume');
  const stop = h('button', { type: 'button', class: 'danger', dataset: { action: 'stop' }, on: { click: () => void app.runs.stop() } }, '■ Stop');
  const status = h('p', { class: 'run-status', role: 'status' });
  // Why Start is disabled, right beside it (and read with it by a screen reader), with the fixes.
  const blocker = h('div', { id: 'start-blocker', class: 'start-blocker', 'aria-live': 'polite', hidden: true });
  start.setAttribute('aria-describedby', blocker.id);
  let blockerKey = '';
  const renderBlocker = (s: AppState) => {
    const b = startBlocker({ invalidFields: s.invalidFields, memory: s.memory, busy: app.running() || s.phase === 'loading' }, fieldLabel);
    const key = JSON.stringify([b, app.settingsLocked()]);
    if (key === blockerKey) return;
    blockerKey = key;
    blocker.hidden = !b;
    blocker.dataset.blocker = b?.kind ?? '';
    if (!b) return fill(blocker);
    fill(blocker, h('div', { class: 'callout warn' },
      h('p', null, b.text),
      b.kind === 'does-not-fit' && s.memory ? memoryFixButtons(app, s.memory, 'startFix') : null,
      b.fields.length ? h('div', { class: 'actions' }, b.fields.map((f) =>
        h('button', { type: 'button', dataset: { gotoField: f }, on: { click: () => focusField(f) } }, `Go to ${fieldLabel(f)}`))) : null));
  };
  const bar = h('progress', { class: 'run-progress', max: 1, value: 0, 'aria-label': 'Training progress' });
  const stepText = h('span', { class: 'step-text' });
  const metrics = h('div', { class: 'metrics run-metrics' });
  const chart = new LineChart(
    [
      { key: 'loss', label: 'Training loss', color: 'var(--c-train)', axis: 'left', format: formatLoss },
      { key: 'val', label: 'Validation loss', color: 'var(--c-val)', axis: 'left', dots: true, format: formatLoss },
      { key: 'lr', label: 'Learning rate', color: 'var(--c-lr)', axis: 'right', dashed: true, format: formatLr },
    ],
    { title: 'Loss and learning rate by step', xLabel: 'step', leftLabel: 'loss', rightLabel: 'learning rate', emptyText: 'The loss curve is drawn here as training runs.' },
  );
  const resumable = h('div', { class: 'resumable' });

  const renderMetrics = (s: AppState) => {
    const run = s.run;
    const last = run.history[run.history.length - 1];
    const vals = run.history.filter((p) => p.valLoss !== undefined);
    const lastVal = vals[vals.length - 1]?.valLoss;
    const bestVal = vals.length ? Math.min(...vals.map((p) => p.valLoss!)) : undefined;
    const eta = run.state === 'training' || run.state === 'paused' ? etaSeconds(run) : run.step > 0 ? 0 : null;
    fill(metrics,
      metric('Elapsed', run.state || run.step ? formatDuration(elapsedMs(run) / 1000) : '—'),
      metric('ETA', run.state === 'paused' ? `${formatDuration(eta)} (paused)`
        : run.state === 'training' && eta === null ? 'estimating (from the second step on)' : formatDuration(eta), { eta: '' }),
      metric('Tokens / s', run.tokensPerSecond ? formatInt(run.tokensPerSecond) : '—'),
      metric('Loss', formatLoss(last?.loss), { loss: '' }),
      metric('Validation loss', lastVal === undefined ? '—' : `${formatLoss(lastVal)}${bestVal !== undefined && bestVal < lastVal ? ` (best ${formatLoss(bestVal)})` : ''}`),
      metric('Learning rate', last ? formatLr(last.lr) : '—'),
      metric('Last checkpoint', run.checkpointStep ? `step ${run.checkpointStep}` : '—'));
  };

  const compared = new Set<string>();
  /** The stored run whose name is being edited, if any. */
  let renaming: string | null = null;
  store.subscribe((s, prev) => {
    const run = s.run;
    const active = app.running();
    start.disabled = !app.runs.canStart();
    pause.disabled = run.state !== 'training' || s.phase === 'loading';
    resume.disabled = run.state !== 'paused';
    stop.disabled = !active || s.phase === 'loading' || app.runs.stopping;
    status.textContent = statusText(s, app.runs.stopping);
    renderBlocker(s);
    status.dataset.state = s.phase;
    bar.max = Math.max(1, run.totalSteps);
    bar.value = run.step;
    bar.setAttribute('aria-valuetext', `step ${run.step} of ${run.totalSteps}`);
    stepText.textContent = run.totalSteps ? `Step ${formatInt(run.step)} / ${formatInt(run.totalSteps)}` : 'Step —';
    renderMetrics(s);
    if (run !== prev.run || s === prev) {
      chart.setXMax(run.totalSteps);
      chart.set('loss', run.history.map((p) => ({ x: p.step, y: p.loss })));
      chart.set('val', run.history.filter((p) => p.valLoss !== undefined).map((p) => ({ x: p.step, y: p.valLoss! })));
      chart.set('lr', run.history.map((p) => ({ x: p.step, y: p.lr })));
    }
    if (s.runs !== prev.runs || run.state !== prev.run.state || run.id !== prev.run.id || s.phase !== prev.phase || s === prev) renderStored(s);
  });

  // Every stored run stays reachable: resume an unfinished one, open any to export or try its adapter,
  // tick several to compare them.
  function renderStored(s: AppState): void {
    const active = app.running();
    const busy = active || s.phase === 'loading';
    const stored = s.runs.filter((r) => !(active && r.id === s.run.id));
    for (const id of [...compared]) if (!stored.some((r) => r.id === id)) compared.delete(id);
    const chosen = stored.filter((r) => compared.has(r.id));
    fill(resumable, stored.length
      ? [h('h3', null, 'Stored runs'),
         h('p', { class: 'help' }, 'Kept in this browser with their last checkpoint. Open a run to export its adapter or try it in the playground; tick two or more to compare them.'),
         h('ul', { class: 'run-list' }, stored.map((r) => {
           const unfinished = r.state !== 'done' && r.state !== 'early-stopped';
           const box = h('input', { type: 'checkbox', checked: compared.has(r.id), dataset: { action: 'compare-run', runId: r.id }, 'aria-label': `Compare ${r.name}` });
           box.addEventListener('change', () => {
             if (box.checked) compared.add(r.id);
             else compared.delete(r.id);
             renderStored(store.get());
           });
           return h('li', { dataset: { runId: r.id } },
             h('div', null, renaming === r.id ? renameForm(r.id, r.name) : h('b', { class: 'run-name' }, r.name), h('span', { class: 'muted' }, ` · ${storedStateText(r.state)} at step ${r.step} / ${r.totalSteps} · ${formatDate(r.updated)}`),
               r.id === s.run.id ? h('span', { class: 'badge ok' }, 'open') : null),
             h('div', { class: 'actions' },
               renaming === r.id ? null : h('button', { type: 'button', dataset: { action: 'rename-run', runId: r.id }, 'aria-label': `Rename ${r.name}`, on: { click: () => { renaming = r.id; renderStored(store.get()); (document.querySelector(`[data-rename-input="${CSS.escape(r.id)}"]`) as HTMLInputElement | null)?.select(); } } }, 'Rename'),
               unfinished ? h('button', { type: 'button', dataset: { action: 'resume-run', runId: r.id }, disabled: busy, on: { click: () => void app.runs.resumeRun(r.id) } }, 'Resume') : null,
               h('button', { type: 'button', dataset: { action: 'open-run', runId: r.id }, disabled: busy || r.id === s.run.id, on: { click: () => void app.runs.openRun(r.id) } }, 'Open'),
               h('label', { class: 'check' }, box, ' Compare')));
         })),
         chosen.length >= 2 ? runComparison(chosen) : null]
      : null);
  }
  // A run's name, edited in place: Enter or Save keeps it, Escape or Cancel leaves it.
  function renameForm(id: string, name: string): HTMLElement {
    const input = h('input', { type: 'text', value: name, maxlength: 120, 'aria-label': 'Run name', dataset: { renameInput: id } });
    const done = (save: boolean) => {
      renaming = null;
      if (save && input.value.trim() && input.value.trim() !== name) void app.runs.renameRun(id, input.value);
      renderStored(store.get());
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') done(true);
      if (e.key === 'Escape') done(false);
    });
    return h('span', { class: 'rename-form' }, input,
      h('button', { type: 'button', dataset: { action: 'save-run-name' }, on: { click: () => done(true) } }, 'Save'),
      h('button', { type: 'button', on: { click: () => done(false) } }, 'Cancel'));
  }

  // The clock and ETA move between steps.
  setInterval(() => {
    if (store.get().run.state === 'training') renderMetrics(store.get());
  }, 1000);

  return panel('run', '4 · Train',
    null,
    h('div', { class: 'run-controls' }, start, pause, resume, stop),
    blocker,
    status,
    h('div', { class: 'progress-row' }, bar, stepText),
    metrics,
    chart.element,
    resumable);
}
