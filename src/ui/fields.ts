// One labelled control per RunSettings field, with the field's SETTING_HELP line under it and its
// validation message (validateSettings is the one place settings are checked; a field shows the
// message that names it). Fields follow the store, so presets, the demo and links update them.
import { DEFAULT_SETTINGS, modelMaxLength, validateSettings } from '../engine/run-settings';
import { SETTING_HELP } from './setting-help';
import type { RunSettings } from '../engine/run-settings';
import { isQloraError } from '../errors';
import { h, uid } from './dom';
import type { App } from './app';

export type FieldKind = 'number' | 'int' | 'optional-int' | 'lr' | 'select' | 'checkbox' | 'text';

export interface FieldSpec {
  key: keyof RunSettings;
  label: string;
  kind: FieldKind;
  options?: readonly { value: string; label: string }[];
  min?: number;
  max?: number;
  step?: number;
  placeholder?: string;
  /** Shown instead of SETTING_HELP. */
  help?: string;
}

type Control = HTMLInputElement | HTMLSelectElement;

function show(kind: FieldKind, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (kind === 'lr' && typeof v === 'number') return v < 0.01 && v > 0 ? v.toExponential().replace(/\.?0+e/, 'e').replace('e-0', 'e-') : String(v);
  return String(v);
}

function parse(kind: FieldKind, control: Control): unknown {
  if (kind === 'checkbox') return (control as HTMLInputElement).checked;
  const raw = control.value.trim();
  switch (kind) {
    case 'select': return control.value;
    case 'text': return raw === '' ? null : raw;
    case 'optional-int': return raw === '' ? null : Number(raw);
    default: return raw === '' ? NaN : Number(raw);
  }
}

/** The validation message for `key` if these settings break it, else null. */
export function fieldError(settings: RunSettings, key: keyof RunSettings): string | null {
  try {
    validateSettings(settings);
    return null;
  } catch (e) {
    if (isQloraError(e) && e.message.startsWith(`Setting "${key}"`)) return e.message.replace(`Setting "${key}": `, '');
    return null;
  }
}

/**
 * A problem only the loaded model can tell: a max length past its context. Said at the field as it is
 * typed, so it never reaches the worker (where it would be a page-level error while nothing ran).
 */
export function modelFieldError(model: { config: { maxPositionEmbeddings: number } } | null, key: keyof RunSettings, value: unknown): string | null {
  if (key !== 'maxLength' || !model || typeof value !== 'number' || !Number.isFinite(value)) return null;
  try {
    modelMaxLength(model.config, value, value);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export function settingField(app: App, spec: FieldSpec): HTMLElement {
  const id = uid(`f-${spec.key}`);
  const helpId = `${id}-help`;
  const errId = `${id}-err`;
  const help = spec.help ?? SETTING_HELP[spec.key];
  let control: Control;
  if (spec.kind === 'select') {
    control = h('select', { id, name: spec.key }, (spec.options ?? []).map((o) => h('option', { value: o.value }, o.label)));
  } else if (spec.kind === 'checkbox') {
    control = h('input', { id, name: spec.key, type: 'checkbox' });
  } else {
    const numeric = spec.kind === 'number' || spec.kind === 'int' || spec.kind === 'optional-int';
    control = h('input', {
      id,
      name: spec.key,
      type: numeric ? 'number' : 'text',
      // lr as text: "2e-4" is how people write it, and number inputs reformat it.
      inputMode: spec.kind === 'lr' ? 'decimal' : undefined,
      step: numeric ? String(spec.step ?? (spec.kind === 'number' ? 'any' : 1)) : undefined,
      min: spec.min !== undefined ? String(spec.min) : undefined,
      max: spec.max !== undefined ? String(spec.max) : undefined,
      placeholder: spec.placeholder ?? (spec.kind === 'text' ? '' : String(DEFAULT_SETTINGS[spec.key] ?? '')),
      autocomplete: 'off',
      spellcheck: false,
    });
  }
  control.setAttribute('aria-describedby', `${helpId} ${errId}`);
  const err = h('small', { id: errId, class: 'field-error', 'aria-live': 'polite' });

  const commit = () => {
    const value = parse(spec.kind, control);
    const next = { ...app.store.get().settings, [spec.key]: value } as RunSettings;
    const problem = fieldError(next, spec.key) ?? modelFieldError(app.store.get().model, spec.key, value);
    err.textContent = problem ?? '';
    control.setAttribute('aria-invalid', String(problem !== null));
    app.setFieldValid(spec.key, problem === null);
    if (problem === null) app.updateSettings({ [spec.key]: value } as Partial<RunSettings>);
  };
  control.addEventListener(spec.kind === 'checkbox' || spec.kind === 'select' ? 'change' : 'input', commit);

  let seen: string | null = null;
  let seenModel: unknown = null;
  app.store.subscribe((s) => {
    control.disabled = app.settingsLocked();
    if (s.model !== seenModel) {
      // A newly loaded model may refuse a value it could not judge before (a max length past its
      // context), or accept one the last model refused: the field's value is checked again.
      seenModel = s.model;
      if (spec.key === 'maxLength') queueMicrotask(commit);
    }
    const v = s.settings[spec.key];
    const key = JSON.stringify(v);
    if (key === seen) return;
    seen = key;
    // The value changed: typed here (keep the person's spelling, "2e-4") or set elsewhere (a preset,
    // the demo, a link: show it and drop any stale error).
    if (spec.kind === 'checkbox') (control as HTMLInputElement).checked = Boolean(v);
    else if (JSON.stringify(parse(spec.kind, control)) !== key) control.value = show(spec.kind, v);
    err.textContent = '';
    control.setAttribute('aria-invalid', 'false');
    app.setFieldValid(spec.key, true);
  });

  const label = h('label', { for: id }, spec.label);
  return spec.kind === 'checkbox'
    ? h('div', { class: 'field check' }, control, label, h('small', { id: helpId, class: 'help' }, help), err)
    : h('div', { class: 'field' }, label, control, h('small', { id: helpId, class: 'help' }, help), err);
}
