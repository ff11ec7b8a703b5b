// The offer a page makes on load when a run was cut off (the tab reloaded, closed or crashed while it
// trained): "Run … stopped at step 3 of 60 — Resume?", at the top where the eye is, not only in the
// stored-runs list further down (issue 19, point 1).
import { h, fill } from './dom';
import type { App } from './app';
import type { AppState } from './state';
import type { RunRecord } from '../worker/protocol';

/** The most recent stored run that was training or paused when its page went away, if any. */
export function interruptedRun(s: Pick<AppState, 'runs' | 'run'>, active: boolean): RunRecord | null {
  if (active) return null;
  return s.runs.find((r) => (r.state === 'training' || r.state === 'paused') && r.id !== s.run.id) ?? null;
}

export function resumeOffer(app: App): HTMLElement {
  const box = h('div', { class: 'resume-offer', role: 'region', 'aria-label': 'Interrupted run', hidden: true });
  const dismissed = new Set<string>();
  let shown = '';
  app.store.subscribe((s) => {
    const r = interruptedRun(s, app.running());
    const busy = s.phase === 'loading';
    const key = r && !dismissed.has(r.id) ? `${r.id}:${r.step}:${busy}` : '';
    if (key === shown) return;
    shown = key;
    box.hidden = !key;
    if (!key || !r) return fill(box);
    box.dataset.runId = r.id;
    fill(box, h('div', { class: 'callout warn' },
      h('p', null, h('b', null, `Run stopped at step ${r.step} of ${r.totalSteps}`), ` — "${r.name}" was training when this page closed. Resume? It continues from its last checkpoint, on its own settings and dataset.`),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', disabled: busy, dataset: { action: 'resume-offer', runId: r.id }, on: { click: () => void app.runs.resumeRun(r.id) } }, 'Resume'),
        h('button', { type: 'button', dataset: { action: 'dismiss-resume-offer' }, on: { click: () => { dismissed.add(r.id); shown = ''; box.hidden = true; fill(box); } } }, 'Not now (it stays under Stored runs)'))));
  });
  return box;
}
