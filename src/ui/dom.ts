// A tiny element builder instead of a framework: the page is a handful of panels whose parts are
// re-rendered when the state they show changes, and that needs nothing more than this.

export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (e: Event) => void;

export interface Attrs {
  class?: string;
  style?: string;
  dataset?: Record<string, string>;
  on?: Partial<Record<keyof HTMLElementEventMap, Handler>>;
  /** Anything else: a DOM property when the element has one (value, checked, disabled…), else an attribute. */
  [name: string]: unknown;
}

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) for (const c of child) append(parent, c);
  else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

function apply(el: Element, attrs: Attrs | null | undefined, asProperty: boolean): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign((el as HTMLElement).dataset, value);
    else if (name === 'on') for (const [type, fn] of Object.entries(value as Record<string, Handler>)) el.addEventListener(type, fn);
    else if (name === 'class') el.setAttribute('class', String(value));
    else if (asProperty && name in el && !name.includes('-')) (el as unknown as Record<string, unknown>)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs, true);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** SVG elements take attributes only (their properties are read-only animated values). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs, false);
  append(el, children);
  return el;
}

export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let nextId = 0;
/** Unique ids tie labels and help lines to their inputs. */
export function uid(prefix: string): string {
  return `${prefix}-${++nextId}`;
}

/** Saves bytes as a file through an <a download> click (what browsers and puppeteer treat as a download). */
export function download(data: Blob | Uint8Array | string, name: string, type = 'application/octet-stream'): void {
  const blob = data instanceof Blob ? data : new Blob([data as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, style: 'display:none' });
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoking at once can cancel the download in some browsers; a minute is plenty for it to start.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
