// Memory as a stacked bar: the engine's breakdown (one entry per kind of GPU buffer) grouped into
// the five things a person can act on — base weights, adapter, optimizer, activations, logits —
// each with its own colour, so the Settings panel and the Learn view read the same way.
import { h } from './dom';
import { formatBytes, formatPercent } from './format';
import type { MemoryReport } from '../worker/protocol';

export type MemoryCategory = 'weights' | 'adapter' | 'optimizer' | 'activations' | 'logits';

export const CATEGORY_LABEL: Record<MemoryCategory, string> = {
  weights: 'Base weights',
  adapter: 'Adapter (LoRA)',
  optimizer: 'Optimizer & gradients',
  activations: 'Activations',
  logits: 'Logits',
};

const ORDER: MemoryCategory[] = ['weights', 'adapter', 'optimizer', 'activations', 'logits'];

/** From the labels memory-estimate.ts gives its buffers. */
export function categoryOf(label: string): MemoryCategory {
  const l = label.toLowerCase();
  if (l.includes('logits')) return 'logits';
  if (l.startsWith('lora parameters') || l.startsWith('lora gradients')) return 'adapter';
  if (l.includes('adamw') || l.includes('optimizer') || l.startsWith('gradients')) return 'optimizer';
  if (/nf4|\((f16|f32|bf16)\)|embedding|lm_head|norms$|rope|biases/.test(l)) return 'weights';
  return 'activations';
}

export function byCategory(report: MemoryReport): { category: MemoryCategory; bytes: number }[] {
  const sums = new Map<MemoryCategory, number>();
  for (const b of report.breakdown) sums.set(categoryOf(b.label), (sums.get(categoryOf(b.label)) ?? 0) + b.bytes);
  return ORDER.filter((c) => (sums.get(c) ?? 0) > 0).map((c) => ({ category: c, bytes: sums.get(c)! }));
}

/**
 * One horizontal bar; `scale` is the byte count of a full-width bar (several bars on one scale
 * compare by length).
 */
export function memoryBar(report: MemoryReport, scale = report.total, label?: string): HTMLElement {
  const parts = byCategory(report);
  const width = scale > 0 ? (report.total / scale) * 100 : 0;
  const text = `${label ? `${label}: ` : ''}${formatBytes(report.total)} — ${parts.map((p) => `${CATEGORY_LABEL[p.category]} ${formatBytes(p.bytes)}`).join(', ')}`;
  return h('div', { class: 'mem-bar', role: 'img', 'aria-label': text, title: text },
    h('div', { class: 'mem-bar-fill', style: `width:${Math.max(width, 0.5).toFixed(2)}%` },
      parts.map((p) => h('span', {
        class: `mem-seg cat-${p.category}`,
        style: `flex-grow:${p.bytes}`,
        title: `${CATEGORY_LABEL[p.category]}: ${formatBytes(p.bytes)} (${formatPercent(p.bytes / report.total)})`,
      }))));
}

export function memoryLegend(report: MemoryReport): HTMLElement {
  return h('ul', { class: 'mem-legend' }, byCategory(report).map((p) =>
    h('li', null, h('span', { class: `swatch cat-${p.category}` }), `${CATEGORY_LABEL[p.category]} `, h('b', null, formatBytes(p.bytes)))));
}

/** Every buffer kind, largest first, for the curious. */
export function memoryDetails(report: MemoryReport): HTMLElement {
  return h('details', { class: 'mem-details' },
    h('summary', null, 'Every buffer'),
    h('table', null, h('tbody', null, report.breakdown.map((b) =>
      h('tr', null, h('td', null, h('span', { class: `swatch cat-${categoryOf(b.label)}` }), b.label), h('td', { class: 'num' }, formatBytes(b.bytes)))))));
}
