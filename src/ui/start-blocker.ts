// Why Start is disabled, in words, for the line beside the button (issue 19, point 2): a field that
// is not valid, or a run that does not fit in GPU memory. Busy states (a run, a load) are said by
// the run status instead, so they give no reason here.
import type { MemoryReport } from '../worker/protocol';

export interface StartBlocker {
  kind: 'invalid-fields' | 'does-not-fit';
  text: string;
  /** The settings to go and fix (their field names), for invalid-fields. */
  fields: readonly string[];
}

/** `label`: a setting's name as its field shows it (the key itself by default). */
export function startBlocker(s: { invalidFields: readonly string[]; memory: MemoryReport | null; busy: boolean }, label: (key: string) => string = (k) => k): StartBlocker | null {
  if (s.busy) return null;
  if (s.invalidFields.length) {
    const n = s.invalidFields.length;
    return { kind: 'invalid-fields', fields: s.invalidFields, text: `Start is disabled: ${n === 1 ? 'a setting is' : `${n} settings are`} not valid (${s.invalidFields.map(label).join(', ')}). Fix ${n === 1 ? 'it' : 'them'} to start.` };
  }
  if (s.memory && !s.memory.fits) {
    const why = s.memory.message ?? 'the run needs more memory than this GPU offers.';
    return {
      kind: 'does-not-fit', fields: [],
      text: `Start is disabled: this run does not fit in GPU memory. ${why}${s.memory.fixes.length ? ' One click each makes it smaller:' : ''}`,
    };
  }
  return null;
}
