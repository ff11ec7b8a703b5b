// The Settings panel's recipes (engine/run-presets.ts): one button each, the chosen one pressed, and its
// one line on why under them, so a click both sets the fields and says what they are for. Editing a
// field afterwards un-presses it (the settings are then the person's own).
import { applyPreset, matchingPreset, RUN_PRESETS } from '../engine/run-presets';
import { h } from './dom';
import type { App } from './app';

const NONE = 'A preset sets the training and LoRA settings below for a kind of fine-tune; your dataset stays (the chat preset also picks its model). Every field can be changed after.';

export function presetsPicker(app: App): HTMLElement {
  const why = h('p', { class: 'help preset-why', 'aria-live': 'polite' }, NONE);
  const buttons = RUN_PRESETS.map((p) => h('button', {
    type: 'button', class: 'toggle', title: p.why, dataset: { preset: p.id },
    on: { click: () => app.updateSettings(applyPreset(app.store.get().settings, p)) },
  }, p.label));
  app.store.subscribe((s) => {
    const chosen = matchingPreset(s.settings);
    const locked = app.settingsLocked();
    buttons.forEach((b, i) => {
      b.disabled = locked;
      b.setAttribute('aria-pressed', String(RUN_PRESETS[i] === chosen));
    });
    why.textContent = chosen ? `${chosen.label}: ${chosen.why}` : NONE;
  });
  return h('fieldset', { class: 'group presets' }, h('legend', null, 'Presets'), h('div', { class: 'actions' }, buttons), why);
}
