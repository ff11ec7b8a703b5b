// Storage panel: what this site keeps in the browser (cached models, runs with their checkpoints,
// adapters, datasets) with sizes and delete buttons, how much of the quota it uses, and asking the
// browser to keep it persistent (not evicted under storage pressure) — a main-thread-only API.
import { h, fill } from '../dom';
import { formatBytes, formatDate, formatPercent } from '../format';
import type { App } from '../app';
import type { StoredItem } from '../../worker/protocol';
import { panel } from './panel';

const KIND_NAME: Record<StoredItem['kind'], string> = { model: 'Model', run: 'Run', adapter: 'Adapter', dataset: 'Dataset' };

interface Listing {
  items: StoredItem[];
  usage: number | null;
  quota: number | null;
  persisted: boolean;
}

/** The confirmation says exactly what is deleted and what is not coming back. */
export function whatGoes(it: StoredItem): string {
  const size = formatBytes(it.bytes);
  switch (it.kind) {
    case 'run':
      return `Delete the run "${it.name}" (${it.detail ?? ''}, ${size})?\n\nIts checkpoint — the trained adapter and the optimizer state — its loss history and its stored copy of the dataset are removed from this browser. Export the adapter first to keep it. The cached model stays.`;
    case 'model':
      return `Delete the cached model "${it.name}" (${size})?\n\nIts quantized weights are removed from this browser; the next load downloads it again. Stored runs on it stay, but cannot be opened or resumed until it is loaded again.`;
    default:
      return `Delete ${KIND_NAME[it.kind] ?? it.kind} "${it.name}" (${size}) from this browser?`;
  }
}

export function storagePanel(app: App): HTMLElement {
  const store = app.store;
  const usage = h('div', { class: 'usage' });
  const list = h('div', { class: 'table-wrap' });
  const persistBtn = h('button', { type: 'button', dataset: { action: 'persist-storage' } }, 'Keep data persistent');
  const refreshBtn = h('button', { type: 'button', class: 'ghost' }, 'Refresh');
  const persistNote = h('p', { class: 'muted', 'aria-live': 'polite' });
  let last: Listing | null = null;

  const render = () => {
    const l = last;
    if (!l) return fill(list, h('p', { class: 'muted' }, 'Reading storage…'));
    const frac = l.usage !== null && l.quota ? l.usage / l.quota : null;
    fill(usage,
      h('progress', { max: 1, value: frac ?? 0, 'aria-label': 'Storage used' }),
      h('span', null, l.usage !== null ? `${formatBytes(l.usage)} used${l.quota ? ` of ${formatBytes(l.quota)} (${formatPercent(frac ?? 0)})` : ''}` : 'Usage unknown'),
      h('span', { class: `badge ${l.persisted ? 'ok' : ''}` }, l.persisted ? 'persistent' : 'may be evicted'));
    persistBtn.disabled = l.persisted;
    const running = app.running() ? store.get().run.id : null;
    fill(list, l.items.length
      ? h('table', { class: 'stored' },
          h('thead', null, h('tr', null, ['Kind', 'Name', 'Size', 'Saved', ''].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, l.items.map((it) =>
            h('tr', null,
              h('td', null, KIND_NAME[it.kind] ?? it.kind),
              h('td', null, it.name, it.detail ? h('div', { class: 'muted' }, it.detail) : null),
              h('td', { class: 'num' }, formatBytes(it.bytes)),
              h('td', null, formatDate(it.date)),
              h('td', null, h('button', {
                type: 'button',
                class: 'danger small',
                dataset: { action: 'delete-stored', key: it.key, kind: it.kind },
                'aria-label': `Delete ${KIND_NAME[it.kind] ?? it.kind} ${it.name}`,
                disabled: it.kind === 'run' && it.key === running,
                on: { click: () => void remove(it) },
              }, 'Delete'))))))
      : h('p', { class: 'muted' }, 'Nothing stored yet.'));
  };

  const refresh = async () => {
    await app.guard(async () => {
      const l = await app.api.listStored();
      if (l.usage === null || l.quota === null) {
        const est = await navigator.storage?.estimate?.().catch(() => null);
        if (est) Object.assign(l, { usage: l.usage ?? est.usage ?? null, quota: l.quota ?? est.quota ?? null });
      }
      last = { ...l, persisted: l.persisted || ((await navigator.storage?.persisted?.().catch(() => false)) ?? false) };
      render();
    }, { fatal: false });
  };

  const remove = async (it: StoredItem) => {
    if (!confirm(whatGoes(it))) return;
    await app.guard(async () => {
      await app.api.deleteStored(it.kind, it.key);
      app.notify(`Deleted ${it.name}.`);
      if (it.kind === 'run') await app.refreshRuns();
    }, { fatal: false });
    await refresh();
  };

  persistBtn.addEventListener('click', () => void app.guard(async () => {
    if (!navigator.storage?.persist) {
      persistNote.textContent = 'This browser cannot make storage persistent.';
      return;
    }
    const ok = await navigator.storage.persist();
    persistNote.textContent = ok
      ? 'Granted: the browser will not evict this data when space runs low.'
      : 'Not granted. Browsers grant it to sites you use often or have bookmarked or installed; try again later.';
    await refresh();
  }, { fatal: false }));
  refreshBtn.addEventListener('click', () => void refresh());

  // What is stored changes when a model loads, a run checkpoints or ends, or an adapter is imported.
  let timer = 0;
  const later = () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => void refresh(), 500);
  };
  store.watch((s) => s.model, later);
  store.watch((s) => s.runs, later);
  store.watch((s) => s.run.state, later);
  app.checkpointListeners.add(later);

  return panel('storage', '8 · Storage',
    'Everything stays in this browser: models, checkpoints and adapters are stored here, never uploaded.',
    usage,
    h('div', { class: 'actions' }, persistBtn, refreshBtn),
    persistNote,
    list);
}
