// Several stored runs side by side, for a class asking "what did the rank / the learning rate / NF4
// change?": their training and validation losses on one chart (one colour per run, validation dashed)
// and their settings in one table, the settings that differ marked, so the cause is next to the curve.
import { h } from './dom';
import { formatLoss, formatLr } from './format';
import { LineChart } from './chart';
import type { RunRecord } from '../worker/protocol';

const COLORS = ['#2563eb', '#e8590c', '#2f9e44', '#9c36b5', '#c2255c', '#0c8599', '#5c940d', '#e67700'];

const COMPARED: { label: string; value: (r: RunRecord) => string }[] = [
  { label: 'Model', value: (r) => r.name.split(' · ')[0] },
  { label: 'Dataset', value: (r) => r.name.split(' · ').slice(1).join(' · ') },
  { label: 'Base precision', value: (r) => r.settings.quant.toUpperCase() },
  { label: 'Rank r', value: (r) => String(r.settings.loraR) },
  { label: 'Alpha α', value: (r) => String(r.settings.loraAlpha) },
  { label: 'Target modules', value: (r) => r.settings.target.join(', ') },
  { label: 'Learning rate', value: (r) => formatLr(r.settings.lr) },
  { label: 'Schedule', value: (r) => `${r.settings.scheduler}${r.settings.warmup ? `, warmup ${r.settings.warmup}` : ''}` },
  { label: 'Batch × accumulation', value: (r) => `${r.settings.batchSize} × ${r.settings.gradAccum}` },
  { label: 'Max length', value: (r) => String(r.settings.maxLength) },
  { label: 'Dropout', value: (r) => String(r.settings.loraDropout) },
  { label: 'Steps', value: (r) => `${r.step} / ${r.totalSteps}` },
  { label: 'Final training loss', value: (r) => formatLoss(r.history[r.history.length - 1]?.loss) },
  { label: 'Best validation loss', value: (r) => formatLoss(bestVal(r)) },
];

function bestVal(r: RunRecord): number | undefined {
  const v = r.history.map((p) => p.valLoss).filter((x): x is number => x !== undefined);
  return v.length ? Math.min(...v) : undefined;
}

export function runComparison(runs: RunRecord[]): HTMLElement {
  const color = (i: number) => COLORS[i % COLORS.length];
  const chart = new LineChart(
    runs.flatMap((r, i) => [
      { key: `${r.id}:loss`, label: `${i + 1}: training`, color: color(i), axis: 'left' as const, format: formatLoss },
      { key: `${r.id}:val`, label: `${i + 1}: validation`, color: color(i), axis: 'left' as const, dashed: true, dots: true, format: formatLoss },
    ]),
    { title: 'Loss by step, runs compared', xLabel: 'step', leftLabel: 'loss' },
  );
  chart.setXMax(Math.max(1, ...runs.map((r) => r.totalSteps)));
  for (const r of runs) {
    chart.set(`${r.id}:loss`, r.history.map((p) => ({ x: p.step, y: p.loss })));
    chart.set(`${r.id}:val`, r.history.filter((p) => p.valLoss !== undefined).map((p) => ({ x: p.step, y: p.valLoss! })));
  }
  return h('div', { class: 'run-compare', dataset: { compare: String(runs.length) } },
    h('h3', null, `Comparing ${runs.length} runs`),
    chart.element,
    h('div', { class: 'table-wrap' }, h('table', { class: 'compare-settings' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Setting'),
        runs.map((r, i) => h('th', { scope: 'col' }, h('span', { class: 'swatch', style: `--c:${color(i)}` }), ` Run ${i + 1}`)))),
      h('tbody', null, COMPARED.map((c) => {
        const values = runs.map(c.value);
        const differs = new Set(values).size > 1;
        return h('tr', { class: differs ? 'differs' : '', dataset: { setting: c.label } },
          h('th', { scope: 'row' }, c.label, differs ? h('span', { class: 'badge' }, 'differs') : null),
          values.map((v) => h('td', null, v)));
      })))));
}
