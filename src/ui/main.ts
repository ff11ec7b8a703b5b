// Entry point of the page: keeps QloraError codes across the worker boundary, starts the engine
// worker, reads the settings of a shared link (?lr=…&autostart=1), builds the page and, for a link
// with autostart, loads the model, data and adapter and starts training at once.
import { registerErrorTransfer } from '../worker/errors-transfer';
import { connectEngine } from '../worker/client';
import { DEFAULT_SETTINGS, settingsFromQuery } from '../engine/run-settings';
import type { RunSettings } from '../engine/run-settings';
import { App } from './app';
import { mountPage } from './page';
import { rememberedModel } from './model-source';

registerErrorTransfer();

let settings: RunSettings = { ...DEFAULT_SETTINGS, target: [...DEFAULT_SETTINGS.target] };
let autostart = false;
let gpuMemory: number | undefined;
let linkError: unknown = null;
try {
  ({ settings, autostart, gpuMemory } = settingsFromQuery(location.search));
  // The model chosen on an earlier visit, unless the link names one.
  const remembered = new URLSearchParams(location.search).has('model') ? null : rememberedModel();
  if (remembered) settings = { ...settings, ...remembered };
} catch (e) {
  linkError = e; // a typo in a shared link: say so, and start from the defaults
}

const app = new App(connectEngine(), settings, { gpuMemory: gpuMemory ?? null });
mountPage(app, document.getElementById('app')!);

// Nothing the engine throws, or a bug, may leave a blank page: it goes to the error view.
window.addEventListener('unhandledrejection', (e) => app.showError(e.reason, { fatal: false }));
window.addEventListener('error', (e) => app.showError(e.error ?? e.message, { fatal: false }));

if (linkError) app.showError(linkError);
else {
  void app.guard(async () => {
    await app.init();
    if (autostart) await app.runs.start();
    else if (settings.data) await app.loadDataUrl(settings.data);
  });
}
