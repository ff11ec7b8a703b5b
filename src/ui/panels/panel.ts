// The frame every panel shares: a numbered, labelled <section> that the page's nav links to, and
// the small "metric" tiles the run and model panels show numbers in.
import { h } from '../dom';
import type { Child } from '../dom';

export function panel(id: string, title: string, intro: Child, ...children: Child[]): HTMLElement {
  return h('section', { id, class: 'panel', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, tabindex: -1 }, title),
    intro ? h('p', { class: 'intro' }, intro) : null,
    ...children);
}

export function metric(label: string, value: Child, extra?: Record<string, string>): HTMLElement {
  return h('div', { class: 'metric', dataset: extra }, h('span', { class: 'metric-label' }, label), h('span', { class: 'metric-value' }, value));
}
