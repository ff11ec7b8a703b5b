// Entry point of the page: keeps QloraError codes across the worker boundary, starts the engine
// worker, brings back the work of this address's last visit (settings, chosen dataset: a reload keeps
// them) or reads the settings of a shared link (?preset=…&lr=…&autostart=1), builds the page and, for a link
// with autostart, loads the model, data and adapter and starts training at once.
import { registerErrorTransfer } from '../worker/errors-transfer';
import { connectEngine } from '../worker/client';
import { DEFAULT_SETTINGS } from '../engine/run-settings';
import { queryNamesModel, settingsFromQuery } from './settings-query';
import type { RunSettings } from '../engine/run-settings';
import { App } from './app';
import { mountPage } from './page';
import { rememberedModel } from './model-source';
import { readPageSession } from '../io/page-session';
import { keepSession, restoredDataset, sessionApplies } from './session-keeper';

registerErrorTransfer();

async function startPage(): Promise<void> {
  let settings: RunSettings = { ...DEFAULT_SETTINGS, target: [...DEFAULT_SETTINGS.target] };
  let autostart = false;
  let gpuMemory: number | undefined;
  let linkError: unknown = null;
  try {
    ({ settings, autostart, gpuMemory } = settingsFromQuery(location.search));
    // The model chosen on an earlier visit, unless the link names one (itself or by its preset).
    const remembered = queryNamesModel(location.search) ? null : rememberedModel();
    if (remembered) settings = { ...settings, ...remembered };
  } catch (e) {
    linkError = e; // a typo in a shared link: say so, and start from the defaults
  }
  const saved = readPageSession();
  const navigation = (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined)?.type;
  const restoring = !linkError && sessionApplies(saved, location.search, navigation);
  // The same address again is the same work: its last settings (edited since the link), no second autostart.
  if (restoring) {
    settings = { ...DEFAULT_SETTINGS, ...saved.settings };
    autostart = false;
  }
  const kept = restoring ? await restoredDataset(saved) : { input: null, problem: null };

  const app = new App(connectEngine(), settings, { gpuMemory: gpuMemory ?? null });
  if (restoring) app.store.set({ onInvalid: saved.onInvalid, dataInput: kept.input, dataNote: kept.problem });
  // A kept file is checked again at once, as a newly chosen one is (the Data panel lists its problems).
  if (kept.input) void app.checkData();
  keepSession(app);
  mountPage(app, document.getElementById('app')!);

  // Nothing the engine throws, or a bug, may leave a blank page: it goes to the error view.
  window.addEventListener('unhandledrejection', (e) => app.showError(e.reason, { fatal: false }));
  window.addEventListener('error', (e) => app.showError(e.error ?? e.message, { fatal: false }));

  if (linkError) return app.showError(linkError);
  if (autostart) {
    // A reload of the page must not start a second run: the address keeps the settings, not the start.
    const q = new URLSearchParams(location.search);
    q.delete('autostart');
    history.replaceState(null, '', `${location.pathname}${q.size ? `?${q}` : ''}${location.hash}`);
  }
  void app.guard(async () => {
    await app.init();
    if (autostart) await app.runs.start();
    else if (settings.data && !app.store.get().dataInput) await app.loadDataUrl(settings.data);
  });
}

void startPage();
