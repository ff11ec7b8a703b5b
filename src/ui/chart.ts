// An SVG line chart for the run: several series against the step, each on the left or the right
// axis (loss and learning rate differ by decades), with a hover / keyboard readout of every series at
// the nearest step. Redraws are batched to one per animation frame, so a fast run cannot flood the page.
import { h, svg, fill } from './dom';
import { formatTick } from './format';

export interface SeriesSpec {
  key: string;
  label: string;
  /** A CSS colour; var(--…) works since the chart is inline SVG. */
  color: string;
  axis: 'left' | 'right';
  dots?: boolean;
  dashed?: boolean;
  format: (v: number) => string;
}

export interface Point {
  x: number;
  y: number;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  leftLabel: string;
  rightLabel?: string;
  /** Start the left axis at zero (else it hugs the data: loss curves are easier to read). */
  leftFromZero?: boolean;
  /** Shown in the plot while there is no data. */
  emptyText?: string;
}

const W = 720;
const H = 300;
const PAD = { left: 56, right: 60, top: 14, bottom: 40 };
const PW = W - PAD.left - PAD.right;
const PH = H - PAD.top - PAD.bottom;
const MAX_DRAWN = 1500; // points per series; above this, a stride keeps the path cheap

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function extent(values: number[], fromZero: boolean): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = fromZero ? 0 : finite.reduce((a, b) => Math.min(a, b), Infinity); // no spread: a long run overflows the stack
  let hi = finite.reduce((a, b) => Math.max(a, b), -Infinity);
  if (hi === lo) {
    hi += Math.abs(hi) * 0.1 || 1;
    lo = fromZero ? 0 : lo - (Math.abs(lo) * 0.1 || 1);
  }
  const pad = (hi - lo) * 0.06;
  return [fromZero ? lo : lo - pad, hi + pad];
}

export class LineChart {
  readonly element: HTMLElement;
  private readonly svgEl: SVGSVGElement;
  private readonly readout: HTMLElement;
  private readonly data = new Map<string, Point[]>();
  private xMax = 1;
  private hoverX: number | null = null;
  private frame = 0;

  constructor(private readonly specs: SeriesSpec[], private readonly opts: ChartOptions) {
    this.svgEl = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': opts.title });
    this.readout = h('div', { class: 'chart-readout', 'aria-live': 'polite' });
    const legend = h('ul', { class: 'chart-legend', 'aria-hidden': 'true' },
      specs.map((s) => h('li', null, h('span', { class: `swatch${s.dashed ? ' dashed' : ''}${s.dots && s.dashed === undefined ? ' dot' : ''}`, style: `--c:${s.color}` }), s.label)));
    const plot = h('div', { class: 'chart-plot', tabindex: 0, 'aria-label': `${opts.title}: use the arrow keys to read values` }, this.svgEl, this.readout);
    plot.addEventListener('pointermove', (e) => this.pointAt(e));
    plot.addEventListener('pointerleave', () => this.setHover(null));
    plot.addEventListener('keydown', (e) => this.key(e));
    plot.addEventListener('blur', () => this.setHover(null));
    this.element = h('figure', { class: 'chart' }, legend, plot);
    this.schedule();
  }

  set(key: string, points: Point[]): void {
    this.data.set(key, points);
    this.schedule();
  }

  setXMax(x: number): void {
    this.xMax = Math.max(1, x);
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private xDomainMax(): number {
    let max = this.xMax;
    for (const pts of this.data.values()) if (pts.length) max = Math.max(max, pts[pts.length - 1].x);
    return max;
  }

  private domains(): { left: [number, number]; right: [number, number]; xMax: number } {
    const left: number[] = [];
    const right: number[] = [];
    for (const s of this.specs) for (const p of this.data.get(s.key) ?? []) (s.axis === 'left' ? left : right).push(p.y);
    return { left: extent(left, !!this.opts.leftFromZero), right: extent(right, true), xMax: this.xDomainMax() };
  }

  private draw(): void {
    const { left, right, xMax } = this.domains();
    const sx = (x: number) => PAD.left + (x / xMax) * PW;
    const sy = (d: [number, number]) => (y: number) => PAD.top + PH - ((y - d[0]) / (d[1] - d[0])) * PH;
    const syL = sy(left);
    const syR = sy(right);
    const parts: SVGElement[] = [];

    // Grid and axes: left ticks draw the grid; right ticks only label.
    for (const t of niceTicks(left[0], left[1])) {
      if (t < left[0] || t > left[1]) continue;
      const y = syL(t);
      parts.push(svg('line', { x1: PAD.left, x2: PAD.left + PW, y1: y, y2: y, class: 'grid' }));
      parts.push(svg('text', { x: PAD.left - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, formatTick(t)));
    }
    if (this.opts.rightLabel && this.specs.some((s) => s.axis === 'right' && (this.data.get(s.key)?.length ?? 0) > 0)) {
      for (const t of niceTicks(right[0], right[1], 4)) {
        if (t < right[0] || t > right[1]) continue;
        parts.push(svg('text', { x: PAD.left + PW + 6, y: syR(t) + 4, class: 'tick' }, formatTick(t)));
      }
      parts.push(svg('text', { x: W - 6, y: PAD.top + PH / 2, class: 'axis-label', transform: `rotate(90 ${W - 6} ${PAD.top + PH / 2})`, 'text-anchor': 'middle' }, this.opts.rightLabel));
    }
    for (const t of niceTicks(0, xMax, 6)) {
      if (t > xMax || !Number.isInteger(t)) continue;
      parts.push(svg('text', { x: sx(t), y: PAD.top + PH + 16, class: 'tick', 'text-anchor': 'middle' }, formatTick(t)));
    }
    parts.push(svg('rect', { x: PAD.left, y: PAD.top, width: PW, height: PH, class: 'frame' }));
    parts.push(svg('text', { x: PAD.left + PW / 2, y: H - 6, class: 'axis-label', 'text-anchor': 'middle' }, this.opts.xLabel));
    parts.push(svg('text', { x: 12, y: PAD.top + PH / 2, class: 'axis-label', transform: `rotate(-90 12 ${PAD.top + PH / 2})`, 'text-anchor': 'middle' }, this.opts.leftLabel));

    for (const s of this.specs) {
      const pts = this.data.get(s.key) ?? [];
      const ys = s.axis === 'left' ? syL : syR;
      const stride = Math.ceil(pts.length / MAX_DRAWN);
      const drawn = pts.filter((p, i) => Number.isFinite(p.y) && (i % stride === 0 || i === pts.length - 1));
      if (drawn.length > 1) {
        const d = drawn.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${ys(p.y).toFixed(1)}`).join('');
        parts.push(svg('path', { d, class: 'series', stroke: s.color, 'stroke-dasharray': s.dashed ? '5 4' : undefined }));
      }
      // A lone point has no line to show it: draw it as a dot.
      if (s.dots || drawn.length === 1) for (const p of drawn) parts.push(svg('circle', { cx: sx(p.x), cy: ys(p.y), r: 3.2, fill: s.color, class: 'dot' }));
    }

    const empty = [...this.data.values()].every((pts) => pts.length === 0);
    if (empty && this.opts.emptyText) {
      parts.push(svg('text', { x: PAD.left + PW / 2, y: PAD.top + PH / 2, class: 'empty-text', 'text-anchor': 'middle' }, this.opts.emptyText));
    }
    if (this.hoverX !== null) {
      const x = sx(this.hoverX);
      parts.push(svg('line', { x1: x, x2: x, y1: PAD.top, y2: PAD.top + PH, class: 'hover-rule' }));
      for (const s of this.specs) {
        const p = (this.data.get(s.key) ?? []).find((q) => q.x === this.hoverX);
        if (p && Number.isFinite(p.y)) parts.push(svg('circle', { cx: x, cy: (s.axis === 'left' ? syL : syR)(p.y), r: 4.5, class: 'hover-dot', stroke: s.color }));
      }
    }
    fill(this.svgEl, parts);
    this.svgEl.setAttribute('aria-label', this.summary());
    this.renderReadout(sx);
  }

  /** What a screen reader hears: the latest value of each series. */
  private summary(): string {
    const latest = this.specs
      .map((s) => {
        const pts = this.data.get(s.key) ?? [];
        return pts.length ? `${s.label} ${s.format(pts[pts.length - 1].y)} at step ${pts[pts.length - 1].x}` : null;
      })
      .filter(Boolean);
    return `${this.opts.title}. ${latest.length ? latest.join(', ') : 'No data yet'}.`;
  }

  private renderReadout(sx: (x: number) => number): void {
    if (this.hoverX === null) {
      this.readout.hidden = true;
      return;
    }
    const x = this.hoverX;
    this.readout.hidden = false;
    const rows = this.specs.map((s) => {
      const p = (this.data.get(s.key) ?? []).find((q) => q.x === x);
      return p ? h('div', null, h('span', { class: 'swatch', style: `--c:${s.color}` }), `${s.label}: `, h('b', null, s.format(p.y))) : null;
    });
    fill(this.readout, h('div', { class: 'readout-title' }, `${this.opts.xLabel} ${x}`), rows);
    // Keep the box inside the plot: to the right of the rule, or to its left past the middle.
    const frac = sx(x) / W;
    this.readout.style.left = frac < 0.6 ? `calc(${(frac * 100).toFixed(2)}% + 10px)` : '';
    this.readout.style.right = frac >= 0.6 ? `calc(${((1 - frac) * 100).toFixed(2)}% + 10px)` : '';
  }

  private allX(): number[] {
    const xs = new Set<number>();
    for (const pts of this.data.values()) for (const p of pts) xs.add(p.x);
    return [...xs].sort((a, b) => a - b);
  }

  private setHover(x: number | null): void {
    if (x === this.hoverX) return;
    this.hoverX = x;
    this.schedule();
  }

  private pointAt(e: PointerEvent): void {
    const rect = this.svgEl.getBoundingClientRect();
    if (rect.width === 0) return;
    const vx = ((e.clientX - rect.left) / rect.width) * W;
    const target = ((vx - PAD.left) / PW) * this.xDomainMax();
    const xs = this.allX();
    if (!xs.length) return;
    let best = xs[0];
    for (const x of xs) if (Math.abs(x - target) < Math.abs(best - target)) best = x;
    this.setHover(best);
  }

  private key(e: KeyboardEvent): void {
    const xs = this.allX();
    if (!xs.length) return;
    const i = this.hoverX === null ? -1 : xs.indexOf(this.hoverX);
    let next: number | null = null;
    if (e.key === 'ArrowRight') next = xs[Math.min(xs.length - 1, i + 1)];
    else if (e.key === 'ArrowLeft') next = xs[Math.max(0, i < 0 ? xs.length - 1 : i - 1)];
    else if (e.key === 'Home') next = xs[0];
    else if (e.key === 'End') next = xs[xs.length - 1];
    else if (e.key === 'Escape') return this.setHover(null);
    else return;
    e.preventDefault();
    this.setHover(next);
  }
}
