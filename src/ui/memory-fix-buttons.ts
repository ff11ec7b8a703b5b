// The one-click fixes for a run that does not fit, as buttons: shown in the Settings panel's memory
// estimate and beside Start. Each applies one change and estimates again at once, so a person sees
// what each one buys.
import type { RunSettings } from '../engine/run-settings';
import type { MemoryReport } from '../worker/protocol';
import { h } from './dom';
import type { App } from './app';

/** `key`: the data attribute naming each button's fix (`data-memory-fix` in Settings, `data-start-fix` beside Start). */
export function memoryFixButtons(app: App, m: MemoryReport, key: 'memoryFix' | 'startFix'): HTMLElement {
  const apply = (patch: Partial<RunSettings>) => {
    app.updateSettings(patch);
    app.scheduleEstimate(0);
  };
  return h('div', { class: 'actions fixes' }, m.fixes.map((f) =>
    h('button', { type: 'button', dataset: { [key]: f.kind }, disabled: app.settingsLocked(), on: { click: () => apply(f.patch) } }, f.label)));
}
