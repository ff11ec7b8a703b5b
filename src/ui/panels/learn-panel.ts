// Learn view, for demos and classes: pictures of what QLoRA does, from the loaded model and the
// adapter being trained — memory of QLoRA vs 16-bit LoRA vs full fine-tuning, one NF4 block, the
// trainable share of the parameters, and the adapter's update per layer, refreshed after checkpoints.
import { LORA_MODULES } from '../../engine/lora';
import { h, fill, uid } from '../dom';
import { memoryComparison, nf4Block, normsHeatmap, trainableBar } from '../learn-charts';
import type { App } from '../app';
import { panel } from './panel';

export function learnPanel(app: App): HTMLElement {
  const store = app.store;
  const layerId = uid('learn-layer');
  const moduleId = uid('learn-module');
  const blockId = uid('learn-block');
  const layer = h('input', { id: layerId, type: 'number', min: '0', step: '1', value: '0', name: 'learn-layer' });
  const module = h('select', { id: moduleId, name: 'learn-module' }, LORA_MODULES.map((m) => h('option', { value: m }, m)));
  const block = h('input', { id: blockId, type: 'number', min: '0', step: '1', value: '0', name: 'learn-block' });
  const showBtn = h('button', { type: 'button' }, 'Show');
  const out = h('div', { class: 'learn-grid', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Load a model to see its pictures.'));
  let visible = false;
  let stale = true;
  let loading = false;

  const refresh = async () => {
    if (!app.hasModel() || loading) return;
    loading = true;
    stale = false;
    await app.guard(async () => {
      const d = await app.api.learn(Number(layer.value) || 0, module.value, Math.max(0, Math.round(Number(block.value) || 0)));
      fill(out,
        memoryComparison(d.memory),
        trainableBar(d.trainable, d.total),
        nf4Block(d.block),
        normsHeatmap(d.adapterNorms));
    }, { fatal: false });
    loading = false;
  };

  showBtn.addEventListener('click', () => void refresh());
  for (const c of [layer, module, block]) c.addEventListener('change', () => void refresh());

  store.watch((s) => s.model ?? s.runModel, (m) => {
    // The worker clamps the layer; the bound here just helps the spinner.
    const n = store.get().model?.config.numLayers;
    if (n !== undefined) layer.max = String(n - 1);
    else layer.removeAttribute('max');
    showBtn.disabled = !m;
    stale = true;
    if (m && visible) void refresh();
    if (!m) fill(out, h('p', { class: 'muted' }, 'Load a model to see its pictures.'));
    else if (!visible) fill(out, h('p', { class: 'muted' }, 'The pictures are drawn when this panel is in view (or press Show).'));
  });
  // Only worth a worker call when someone is looking; otherwise refreshed when scrolled into view.
  app.checkpointListeners.add(() => {
    stale = true;
    if (visible) void refresh();
  });
  const section = panel('learn', '7 · Learn: what QLoRA does',
    'Pictures for a demo or a class, from the model loaded and the adapter being trained.',
    h('div', { class: 'grid-4' },
      h('div', { class: 'field' }, h('label', { for: layerId }, 'Layer'), layer),
      h('div', { class: 'field' }, h('label', { for: moduleId }, 'Module'), module),
      h('div', { class: 'field' }, h('label', { for: blockId }, 'Block of 64 weights'), block),
      h('div', { class: 'field end' }, showBtn)),
    out);
  new IntersectionObserver((entries) => {
    visible = entries.some((e) => e.isIntersecting);
    if (visible && stale) void refresh();
  }).observe(section);
  return section;
}
