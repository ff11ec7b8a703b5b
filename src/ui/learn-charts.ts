// The Learn view's pictures, each answering one question a class asks: why does QLoRA need so much
// less memory (bars on one scale), what does 4-bit NF4 do to a weight (one block of 64 values against
// the 16 levels), how little is trained (a proportional bar), and where does the adapter change the
// model (a layer × module heatmap of the update's norm).
import { h, svg } from './dom';
import { formatBytes, formatCount, formatPercent, formatTick } from './format';
import { CATEGORY_LABEL, memoryBar } from './bars';
import type { MemoryCategory } from './bars';
import type { LearnData } from '../worker/protocol';

export function memoryComparison(m: LearnData['memory']): HTMLElement {
  const rows = [
    { label: 'QLoRA (NF4 base)', report: m.qlora },
    { label: 'LoRA (16-bit base)', report: m.lora16 },
    { label: 'Full fine-tuning', report: m.full },
  ];
  const scale = Math.max(...rows.map((r) => r.report.total));
  const cats = Object.keys(CATEGORY_LABEL) as MemoryCategory[];
  return h('figure', { class: 'learn-fig' },
    h('figcaption', null, 'GPU memory for the same run'),
    h('div', { class: 'compare-bars' }, rows.map((r) =>
      h('div', { class: 'compare-row' },
        h('span', { class: 'compare-label' }, r.label),
        memoryBar(r.report, scale, r.label),
        h('b', { class: 'compare-total' }, formatBytes(r.report.total))))),
    h('ul', { class: 'mem-legend' }, cats.map((c) => h('li', null, h('span', { class: `swatch cat-${c}` }), CATEGORY_LABEL[c]))),
    h('p', { class: 'muted', dataset: { learn: 'memory-ratio' } }, memoryRatioText(m)));
}

/**
 * What the bars say. On a tiny model (the demo) the activations of the batch, the same in all three,
 * outweigh the weights, and full fine-tuning can even come out smaller (no adapter, no dequantized
 * copy): saying "QLoRA needs 105 % of full fine-tuning" without the reason would teach the wrong thing.
 */
export function memoryRatioText(m: LearnData['memory']): string {
  const ratio = m.qlora.total / m.full.total;
  if (ratio < 0.8) return `QLoRA needs ${formatPercent(ratio, 0)} of the memory of full fine-tuning: the frozen base is 4-bit and only the small adapter has gradients and optimizer state.`;
  return `Here QLoRA needs ${formatPercent(ratio, 0)} of the memory of full fine-tuning, because this model is tiny: its weights are a small part of the memory, and the activations of the batch — the same for all three — dominate. ` +
    'The saving grows with the model: per parameter, full fine-tuning keeps about 16 bytes (weights, gradients, two Adam moments) and QLoRA about 0.5 (the 4-bit base); for a 1-billion-parameter model that is some 16 GB against 0.5 GB before activations.';
}

export function nf4Block(b: LearnData['block']): HTMLElement {
  const W = 720;
  const H = 260;
  const P = { l: 48, r: 64, t: 12, b: 28 };
  const n = b.values.length;
  const lim = Math.max(b.absmax, ...b.values.map(Math.abs), ...b.levels.map(Math.abs), 1e-12) * 1.05;
  const x = (i: number) => P.l + ((i + 0.5) / n) * (W - P.l - P.r);
  const y = (v: number) => P.t + ((lim - v) / (2 * lim)) * (H - P.t - P.b);
  const parts: SVGElement[] = [];
  // The 16 NF4 levels (already scaled by the block's absmax): every weight is stored as the nearest
  // one. Labelled with the NF4 code value (level / absmax), in [-1, 1].
  for (const v of b.levels) {
    parts.push(svg('line', { x1: P.l, x2: W - P.r, y1: y(v), y2: y(v), class: 'level' }));
    parts.push(svg('text', { x: W - P.r + 4, y: y(v) + 3, class: 'tick small' }, b.absmax > 0 ? (v / b.absmax).toFixed(2) : ''));
  }
  parts.push(svg('text', { x: W - 4, y: P.t + 8, class: 'axis-label', 'text-anchor': 'end' }, 'level'));
  for (const t of [-b.absmax, 0, b.absmax]) parts.push(svg('text', { x: P.l - 6, y: y(t) + 4, class: 'tick', 'text-anchor': 'end' }, formatTick(t)));
  for (let i = 0; i < n; i++) {
    const v = b.values[i];
    const q = b.dequant[i];
    parts.push(svg('line', { x1: x(i), x2: x(i), y1: y(v), y2: y(q), class: 'qerr' }));
    parts.push(svg('rect', { x: x(i) - 3.5, y: y(q) - 1.5, width: 7, height: 3, class: 'qval' }));
    parts.push(svg('circle', { cx: x(i), cy: y(v), r: 2.8, class: 'orig' }, svg('title', null, `weight ${i}: ${v.toPrecision(4)} → ${q.toPrecision(4)}`)));
  }
  parts.push(svg('text', { x: (W + P.l - P.r) / 2, y: H - 6, class: 'axis-label', 'text-anchor': 'middle' }, `the ${n} weights of block (index)`));
  return h('figure', { class: 'learn-fig' },
    h('figcaption', null, `One block of ${b.name}: 64 weights stored as 4-bit codes`),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': `${n} weights and their NF4 values; absmax ${b.absmax.toPrecision(3)}, quantization error ${b.error.toPrecision(3)}` }, parts),
    h('ul', { class: 'mem-legend' },
      h('li', null, h('span', { class: 'swatch dot', style: '--c:var(--c-train)' }), 'original weight'),
      h('li', null, h('span', { class: 'swatch', style: '--c:var(--c-val)' }), 'stored 4-bit value'),
      h('li', null, h('span', { class: 'swatch', style: '--c:var(--c-err)' }), 'error'),
      h('li', null, h('span', { class: 'swatch', style: '--c:var(--muted)' }), 'the 16 NF4 levels × absmax')),
    h('p', { class: 'muted' }, `absmax ${b.absmax.toPrecision(3)} · quantization error (RMS) ${b.error.toPrecision(3)} · 4 bits per weight instead of 16`),
    // A base stored in 4-bit has no original floats left to compare with: every dot sits on a level.
    b.values.every((v, i) => v === b.dequant[i])
      ? h('p', { class: 'muted' }, 'This base was stored in 4-bit already, so the original weights are not known here and every weight sits exactly on a level.')
      : null);
}

export function trainableBar(trainable: number, total: number): HTMLElement {
  const frac = total > 0 ? trainable / total : 0;
  return h('figure', { class: 'learn-fig' },
    h('figcaption', null, 'What is trained'),
    h('div', { class: 'param-bar', role: 'img', 'aria-label': `${formatCount(trainable)} trainable of ${formatCount(total)} parameters (${formatPercent(frac)})` },
      // A sliver would vanish: the trainable part is drawn at least 2 px wide.
      h('span', { class: 'param-trainable', style: `width:max(2px, ${(frac * 100).toFixed(4)}%)` }),
      h('span', { class: 'param-frozen' })),
    h('div', { class: 'param-labels' },
      h('span', null, h('span', { class: 'swatch cat-adapter' }), `adapter: ${formatCount(trainable)} (${formatPercent(frac)})`),
      h('span', null, h('span', { class: 'swatch cat-weights' }), `frozen base: ${formatCount(total - trainable)}`)));
}

export function normsHeatmap(norms: LearnData['adapterNorms']): HTMLElement {
  const layers = [...new Set(norms.map((n) => n.layer))].sort((a, b) => a - b);
  const modules = [...new Set(norms.map((n) => n.module))];
  const max = Math.max(0, ...norms.map((n) => n.norm));
  const fig = h('figure', { class: 'learn-fig' }, h('figcaption', null, 'Where the adapter changes the model: ‖scale·B·A‖ per layer and module'));
  if (!norms.length || max === 0) {
    fig.append(h('p', { class: 'muted' }, 'All zero: PEFT starts B at zero, so the adapter changes nothing until training moves it. Train, and this fills in after each checkpoint.'));
    return fig;
  }
  const at = new Map(norms.map((n) => [`${n.layer}/${n.module}`, n.norm]));
  fig.append(
    h('div', { class: 'table-wrap' }, h('table', { class: 'heatmap' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'layer'), modules.map((m) => h('th', { scope: 'col' }, m.replace('_proj', ''))))),
      h('tbody', null, layers.map((l) => h('tr', null, h('th', { scope: 'row' }, String(l)),
        modules.map((m) => {
          const v = at.get(`${l}/${m}`);
          return v === undefined
            ? h('td', { class: 'empty' }, '')
            : h('td', { style: `--v:${(v / max).toFixed(3)}`, title: `layer ${l} ${m}: ${v.toPrecision(3)}` }, h('span', { class: 'sr-only' }, v.toPrecision(3)));
        })))))),
    h('div', { class: 'heat-legend' }, h('span', null, '0'), h('span', { class: 'heat-scale' }), h('span', null, max.toPrecision(3))));
  return fig;
}
