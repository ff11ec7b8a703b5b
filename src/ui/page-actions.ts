// What the page's own buttons do beyond one engine call: "Try the demo" (demo-friendly settings, then
// start), "Copy link" (the settings as a shareable URL), and the fixes the error view offers.
import { DEFAULT_SETTINGS } from '../engine/run-settings';
import { settingsToQuery } from './settings-query';
import type { RunSettings } from '../engine/run-settings';
import { QloraError } from '../errors';
import { fetchText } from './adapter-files';
import type { ErrorAction } from './error-view';
import { DEMO_DATA_PATH } from './model-source';
import type { App } from './app';

/**
 * Settings the "Try the demo" button uses: the tiny base learns the eight capitals in 16 steps (its loss
 * from about 3 to under 0.3; every capital answered right, checked in test/browser/demo.test.ts), short
 * enough for SwiftShader and a few seconds on a laptop GPU.
 */
export const DEMO_SETTINGS: Partial<RunSettings> = {
  model: 'demo',
  data: null,
  lr: 5e-3, // memorizes in 16 steps; 1e-2 overshoots and forgets some capitals again
  steps: 16, // eight records, batch 4: eight epochs
  batchSize: 4,
  gradAccum: 1,
  loraR: 8,
  loraAlpha: 16,
  maxGradNorm: 1, // the paper's 0.3 slows the first steps of so short a run
  maxLength: 256,
  checkpointEvery: 8,
  quant: 'nf4',
};

export async function tryDemo(app: App): Promise<void> {
  if (app.running()) return;
  // The button is disabled while the demo loads and trains: focus moves to what it started, not to <body>.
  document.getElementById('run-title')?.focus();
  app.setSource({ kind: 'demo' });
  app.store.set({ continueFromImported: false, onInvalid: 'stop', error: null });
  app.updateSettings({ ...DEFAULT_SETTINGS, ...DEMO_SETTINGS, target: [...DEFAULT_SETTINGS.target] });
  await app.guard(async () => {
    const { text, fileName } = await fetchText(DEMO_DATA_PATH);
    await app.setDataInput({ text, fileName, origin: 'demo' });
  });
  if (app.store.get().phase !== 'error') {
    app.demoRun.pending = true;
    await app.runs.start();
    if (!app.running()) app.demoRun.pending = false; // it did not start (an error)
  }
}

export async function copyLink(app: App): Promise<void> {
  const s = app.store.get();
  const q = settingsToQuery(s.settings);
  history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}${location.hash}`);
  const notes: string[] = [];
  if (s.source.kind === 'files') notes.push('local model files are not part of a link');
  // The dataset in use (chosen here, or a stored run's) is in the link only as a URL.
  const inUse = s.dataInput ? (s.dataInput.origin === 'upload' || s.dataInput.origin === 'paste' || s.dataInput.origin === 'run' ? s.dataInput.fileName : null)
    : s.data && !s.settings.data && s.data.fileName !== DEMO_DATA_PATH.split('/').pop() ? s.data.fileName : null;
  if (inUse) notes.push(`the dataset "${inUse}" is not part of it (it was uploaded or pasted here: a link opens with the demo dataset unless you give the data as a URL)`);
  let copied = false;
  try {
    await navigator.clipboard.writeText(location.href);
    copied = true;
  } catch {
    // Clipboard needs focus and permission; the link is in the address bar either way.
  }
  app.notify(`${copied ? 'Link copied' : 'Link is in the address bar'}${notes.length ? ` — note: ${notes.join('; ')}` : ''}.`);
}

export async function onErrorAction(app: App, a: ErrorAction): Promise<void> {
  const s = app.store.get();
  switch (a) {
    case 'dismiss':
      return app.dismissError();
    case 'retry-init':
      app.dismissError();
      app.resetInit();
      await app.guard(() => app.init());
      return;
    case 'retry-download':
      app.store.set({ error: null, model: null, modelSig: null });
      return app.loadModel();
    case 'open-storage':
      document.getElementById('storage')?.scrollIntoView({ behavior: 'smooth' });
      (document.querySelector('#storage h2') as HTMLElement | null)?.focus();
      return;
    case 'skip-bad-rows':
      return app.skipBadRows();
    case 'map-columns': {
      // The Data panel's column mapping, opened, with its first choice focused.
      const mapping = document.querySelector<HTMLDetailsElement>('[data-column-mapping]');
      if (mapping) mapping.open = true;
      mapping?.scrollIntoView({ behavior: 'smooth', block: 'center' });
      mapping?.querySelector<HTMLSelectElement>('select')?.focus();
      return;
    }
    case 'halve-lr':
      app.updateSettings({ lr: s.settings.lr / 2 });
      app.notify(`Learning rate lowered to ${(s.settings.lr / 2).toPrecision(2)}. Start a new run, or resume the stopped one.`);
      return;
    case 'save-memory': {
      const b = s.settings.batchSize;
      const batchSize = Math.max(1, Math.floor(b / 2));
      app.dismissError();
      app.updateSettings({ batchSize, gradAccum: s.settings.gradAccum * Math.max(1, Math.round(b / batchSize)), gradientCheckpointing: true, quant: 'nf4' });
      app.notify('Halved the batch (doubled accumulation to keep the effective batch), turned on gradient checkpointing, base in NF4.');
      return;
    }
    case 'resume-run': {
      const id = s.run.id ?? s.runs.find((r) => r.state !== 'done' && r.state !== 'early-stopped')?.id;
      if (!id) return app.showError(new QloraError('STORAGE', 'No checkpoint of this run was saved yet; start it again.'));
      app.store.set({ run: { ...s.run, state: null } });
      return app.runs.resumeRun(id);
    }
  }
}
