// The page's work between visits: the settings and which dataset was chosen (one small record in
// localStorage, written at once as settings change: a reload right after a change must find it, and an
// IndexedDB write started as the page unloads may never land), and the text of an uploaded, pasted or
// stored-run dataset in IndexedDB (idb-keyval; its own entry, written when another dataset is chosen).
// A reload, a crash or a closed tab then finds the settings and the file where the person left them
// (issue 19, point 1).
import { createStore, del, get, set } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import type { RunSettings } from '../engine/run-settings';

let store: UseStore | null = null;
const db = () => (store ??= createStore('qlora-page', 'session'));

/** Where the chosen dataset came from: its text is kept for the kinds a link cannot carry. */
export type KeptDataOrigin = 'upload' | 'paste' | 'run';

export interface PageSession {
  settings: RunSettings;
  /** location.search when saved: the same address again is this session, another is a new link. */
  search: string;
  onInvalid: 'stop' | 'skip';
  /** The dataset chosen when saved, if its text is kept (a URL dataset is in settings.data). */
  data: { fileName: string; origin: KeptDataOrigin } | null;
}

export interface KeptDataset {
  text: string;
  fileName: string;
  origin: KeptDataOrigin;
}

const SESSION_KEY = 'qlora.session';

/** Failures to read are "nothing kept": the page starts as on a first visit. */
export function readPageSession(): PageSession | null {
  try {
    const v = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') as PageSession | null;
    return v && typeof v === 'object' && v.settings && typeof v.search === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** Storage blocked (private mode) or full: the page works on, and a reload starts afresh. */
export function savePageSession(s: PageSession): void {
  try {
    localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  } catch {
    // nothing kept
  }
}

export async function readKeptDataset(): Promise<KeptDataset | null> {
  return (await get<KeptDataset>('dataset', db())) ?? null;
}

export function keepDataset(d: KeptDataset | null): Promise<void> {
  return d ? set('dataset', d, db()) : del('dataset', db());
}
