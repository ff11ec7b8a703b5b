// The page's work between visits, in IndexedDB (idb-keyval): the settings and which dataset was chosen
// (one small record, rewritten as settings change), and the text of an uploaded, pasted or stored-run
// dataset (its own entry, written only when another dataset is chosen). A reload, a crash or a closed
// tab then finds the settings and the file where the person left them (issue 19, point 1).
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

/** Failures to read are "nothing kept": the page starts as on a first visit. */
export async function readPageSession(): Promise<PageSession | null> {
  try {
    return (await get<PageSession>('session', db())) ?? null;
  } catch {
    return null;
  }
}

export function savePageSession(s: PageSession): Promise<void> {
  return set('session', s, db());
}

export async function readKeptDataset(): Promise<KeptDataset | null> {
  return (await get<KeptDataset>('dataset', db())) ?? null;
}

export function keepDataset(d: KeptDataset | null): Promise<void> {
  return d ? set('dataset', d, db()) : del('dataset', db());
}
