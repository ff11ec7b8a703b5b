// The page's URL form of a run's settings (shareable links, ?lr=1e-4&autostart=1): read on top of the
// defaults, or on top of a named recipe (`preset=classifier`, applied first whatever its place in the
// query, the link's other settings then on top), and written as what differs from those. The README's
// URL table documents the names; validation is the one validator's (engine/run-settings.ts).
import type { RunSettings } from '../engine/run-settings';
import { DEFAULT_SETTINGS, failSetting, validateSettings } from '../engine/run-settings';
import type { RunPreset } from '../engine/run-presets';
import { applyPreset, findPreset, matchingPreset, RUN_PRESETS } from '../engine/run-presets';
import type { ColumnMapping } from '../data/columns';
import { formatColumnMapping, parseColumnMapping } from '../data/columns';
import { DATASET_FORMATS } from '../data/records';
import type { BaseQuant } from '../engine/base-weights';
import type { SchedulerName } from '../engine/schedule';
import { parseTargets } from '../engine/lora';
import { parseMemorySize } from '../gpu/memory-probe';

const FORMATS: readonly string[] = ['auto', ...DATASET_FORMATS];

/** The query names that are the page's, not a run setting. */
const PAGE_NAMES = ['preset', 'autostart', 'gpu-memory'];

function bool(name: string, v: string): boolean {
  if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
  return failSetting(name, `must be 1/0 or true/false, got "${v}"`);
}

function number(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) failSetting(name, `must be a number, got "${v}"`);
  return n;
}

function presetNamed(name: string): RunPreset {
  return findPreset(name) ?? failSetting('preset', `"${name}" is not a preset. Known: ${RUN_PRESETS.map((p) => p.id).join(', ')}`);
}

/** The preset a query names, or null (an unknown name is refused with the list). */
export function queryPreset(query: URLSearchParams | string): RunPreset | null {
  const name = (typeof query === 'string' ? new URLSearchParams(query) : query).get('preset');
  return name === null ? null : presetNamed(name);
}

/**
 * Settings given in the URL on top of the defaults (or of `preset=`'s recipe); unknown names are errors
 * (a typo would silently do nothing). Three names are the page's, not the run's: `preset`, `autostart`,
 * and `gpu-memory` (bytes a run may use on this GPU, e.g. 8GB, instead of measuring them; absent: measured).
 */
export function settingsFromQuery(query: URLSearchParams | string, base: RunSettings = DEFAULT_SETTINGS): { settings: RunSettings; autostart: boolean; gpuMemory?: number } {
  const q = typeof query === 'string' ? new URLSearchParams(query) : query;
  const preset = queryPreset(q);
  const start = preset ? applyPreset(base, preset) : base;
  const s: RunSettings = { ...start, target: [...start.target] };
  let autostart = false;
  let gpuMemory: number | undefined;
  for (const [name, v] of q) {
    switch (name) {
      case 'preset': break; // applied first, above
      case 'autostart': autostart = bool(name, v); break;
      case 'gpu-memory': gpuMemory = parseMemorySize(v); break;
      case 'model': s.model = v; break;
      case 'revision': s.revision = v; break;
      case 'data': s.data = v || null; break;
      case 'initAdapter': s.initAdapter = v || null; break;
      case 'format':
        if (!FORMATS.includes(v)) failSetting(name, `must be one of ${FORMATS.join(', ')}`);
        s.format = v as RunSettings['format'];
        break;
      case 'columns': s.columns = parseColumnMapping(v); break;
      case 'scheduler': s.scheduler = v as SchedulerName; break;
      case 'quant': s.quant = v as BaseQuant; break;
      case 'target': s.target = parseTargets(v); break;
      case 'shuffle': case 'rslora': case 'gradientCheckpointing': s[name] = bool(name, v); break;
      case 'limit': s.limit = v === '' ? null : number(name, v); break;
      case 'steps': s.steps = v === '' ? null : number(name, v); break;
      case 'valSplit': case 'valMax': case 'maxLength': case 'batchSize': case 'gradAccum': case 'epochs': case 'lr': case 'warmup':
      case 'weightDecay': case 'maxGradNorm': case 'loraR': case 'loraAlpha': case 'loraDropout': case 'seed':
      case 'evalEvery': case 'checkpointEvery': case 'patience':
        s[name] = number(name, v);
        break;
      default:
        failSetting(name, `is not a known setting. Known: ${PAGE_NAMES.join(', ')}, ${Object.keys(DEFAULT_SETTINGS).join(', ')}`);
    }
  }
  return gpuMemory === undefined ? { settings: validateSettings(s), autostart } : { settings: validateSettings(s), autostart, gpuMemory };
}

/** Whether a link picks the model: by `model=`, or by a preset whose recipe is about one (the chat preset). */
export function queryNamesModel(query: URLSearchParams | string): boolean {
  const q = typeof query === 'string' ? new URLSearchParams(query) : query;
  return q.has('model') || queryPreset(q)?.settings.model !== undefined;
}

/** The settings that differ from `base`, as a query string. */
function differences(s: RunSettings, base: RunSettings): URLSearchParams {
  const q = new URLSearchParams();
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof RunSettings)[]) {
    const v = s[key];
    const b = base[key];
    if (JSON.stringify(v) === JSON.stringify(b)) continue;
    if (key === 'columns') {
      const text = formatColumnMapping((v ?? {}) as ColumnMapping);
      if (text !== formatColumnMapping((b ?? {}) as ColumnMapping)) q.set(key, text);
      continue;
    }
    if (v === null) q.set(key, '');
    else if (Array.isArray(v)) q.set(key, v.join(','));
    else if (typeof v === 'boolean') q.set(key, v ? '1' : '0');
    else q.set(key, String(v));
  }
  return q;
}

/**
 * The settings as a shareable query string: `preset=<id>` when they are a preset's recipe (the link then
 * says which, and is shorter), and what differs from the defaults (or from that recipe).
 */
export function settingsToQuery(s: RunSettings): string {
  const preset = matchingPreset(s);
  if (!preset) return differences(s, DEFAULT_SETTINGS).toString();
  const rest = differences(s, applyPreset(DEFAULT_SETTINGS, preset));
  return new URLSearchParams([['preset', preset.id], ...rest]).toString();
}
