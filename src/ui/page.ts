// The page's frame: a header with the device, the run state and the two buttons a teacher needs
// (Try the demo, Copy link), the error view, a nav to the panels, and the panels in two columns on a
// laptop screen — setting up on the left, training and its results on the right — one column on a
// narrow one. Every panel stays in the page (no hidden tabs), so every control can be reached.
import { h, fill } from './dom';
import { renderError } from './error-view';
import type { App } from './app';
import { copyLink, onErrorAction, tryDemo } from './page-actions';
import type { Phase } from './state';
import { modelPanel } from './panels/model-panel';
import { dataPanel } from './panels/data-panel';
import { settingsPanel } from './panels/settings-panel';
import { runPanel } from './panels/run-panel';
import { playgroundPanel } from './panels/playground-panel';
import { exportPanel } from './panels/export-panel';
import { learnPanel } from './panels/learn-panel';
import { storagePanel } from './panels/storage-panel';
import { resumeOffer } from './resume-offer';

const PRESENT_KEY = 'qlora.largeText';

const PHASE_TEXT: Record<Phase, string> = { idle: 'Ready', loading: 'Loading', training: 'Training', done: 'Done', error: 'Error' };

const NAV: [string, string][] = [
  ['model', 'Model'], ['data', 'Data'], ['settings', 'Settings'], ['run', 'Train'],
  ['playground', 'Playground'], ['export', 'Export'], ['learn', 'Learn'], ['storage', 'Storage'],
];

function header(app: App): HTMLElement {
  const device = h('span', { class: 'device' });
  // A browser that offers f16 and subgroups but not subgroup matrices keeps tensor cores (if the GPU has
  // them) from the page: one line on how to let them in, no promise of a gain nobody measured here.
  const tensorHint = h('small', { class: 'tensor-hint' });
  const phase = h('span', { class: 'phase-badge', role: 'status' });
  const notice = h('p', { class: 'notice', role: 'status' });
  const demo = h('button', { type: 'button', class: 'primary', dataset: { action: 'demo' }, on: { click: () => void tryDemo(app) } }, 'Try the demo');
  // Bigger type for a projector; remembered for the next class.
  const large = h('button', { type: 'button', class: 'ghost', 'aria-pressed': String(document.documentElement.classList.contains('present')) }, 'Large text');
  large.addEventListener('click', () => {
    const on = document.documentElement.classList.toggle('present');
    large.setAttribute('aria-pressed', String(on));
    try {
      localStorage.setItem(PRESENT_KEY, on ? '1' : '');
    } catch {
      // Not remembered in private mode; still applies now.
    }
  });
  const link = h('button', { type: 'button', dataset: { action: 'copy-link' }, on: { click: () => void app.guard(() => copyLink(app), { fatal: false }) } }, 'Copy link');
  app.store.subscribe((s) => {
    device.textContent = s.device ? `GPU: ${s.device.adapter || 'WebGPU adapter'}${s.device.f16 ? ' · f16' : ''}${s.device.gemmBackend === 'subgroup-matrix' ? ' · tensor cores' : ''}` : 'GPU: starting…';
    // The tensor-core products failed their check on this driver: say so where a curious eye looks.
    device.title = s.device?.gemmFallback ? `Tensor-core matrix products were not used: ${s.device.gemmFallback}` : '';
    tensorHint.hidden = !s.device?.subgroupMatrixHidden;
    tensorHint.textContent = s.device?.subgroupMatrixHidden
      ? 'If this GPU has tensor cores, this browser hides them: chrome://flags/#enable-unsafe-webgpu lets training try them (gain on your card unmeasured).'
      : '';
    // After a run, the badge says how it ended: a stopped run is not "Done".
    phase.textContent = s.phase === 'done' && s.run.state === 'stopped' ? 'Stopped' : s.phase === 'done' && s.run.state === 'early-stopped' ? 'Stopped early' : PHASE_TEXT[s.phase];
    phase.dataset.phase = s.phase;
    demo.disabled = app.running() || s.phase === 'loading';
    notice.textContent = s.notice ?? '';
    notice.hidden = !s.notice;
  });
  return h('header', { class: 'top' },
    h('div', { class: 'brand' },
      h('h1', null, 'QLoRA fine-tuner'),
      h('p', { class: 'tagline' }, 'Teach a small language model new tricks on your own GPU — in this tab, nothing uploaded.')),
    h('div', { class: 'top-status' }, phase, device, tensorHint),
    h('div', { class: 'top-actions' }, demo, link, large,
      h('a', { class: 'ghost', href: `${import.meta.env.BASE_URL}src/bench/bench.html`, title: 'Training speed of model shapes on this GPU' }, 'Benchmark')),
    notice);
}

export function mountPage(app: App, root: HTMLElement): void {
  try {
    if (localStorage.getItem(PRESENT_KEY)) document.documentElement.classList.add('present');
  } catch {
    // Storage blocked: default size.
  }
  const errorBox = h('div', { class: 'error-view', role: 'alert', hidden: true });
  app.store.watch((s) => s.error, (e) => renderError(errorBox, e, (a) => void onErrorAction(app, a)));
  fill(root,
    h('a', { class: 'skip-link', href: '#run' }, 'Skip to training'),
    header(app),
    h('nav', { class: 'panel-nav', 'aria-label': 'Panels' }, h('ul', null, NAV.map(([id, label]) => h('li', null, h('a', { href: `#${id}` }, label))))),
    errorBox,
    resumeOffer(app),
    h('main', { class: 'layout' },
      h('div', { class: 'col setup' }, modelPanel(app), dataPanel(app), settingsPanel(app)),
      h('div', { class: 'col results' }, runPanel(app), playgroundPanel(app), exportPanel(app)),
      h('div', { class: 'col wide' }, learnPanel(app), storagePanel(app))));
}
