// Keeps the page's work across reloads (issue 19, point 1): which saved session applies to this visit,
// bringing its settings and dataset back, and saving them again as they change. The same address again
// (a reload, a reopened tab) is the same work; another address is a new start.
import { isQloraError } from '../errors';
import { keepDataset, readKeptDataset, savePageSession } from '../io/page-session';
import type { KeptDataOrigin, KeptDataset, PageSession } from '../io/page-session';
import type { App } from './app';
import type { AppState, DataInput } from './state';

const KEPT_ORIGINS: readonly DataInput['origin'][] = ['upload', 'paste', 'run'];

/**
 * Whether the saved session is this visit's: the address it was saved under (a reopened tab, the app's
 * bare address again), or whatever the browser reloaded. Another address — a shared link, the bare
 * address after working from a link — starts from its own settings (the stored runs are offered either way).
 */
export function sessionApplies(saved: PageSession | null, search: string, navigation: string | undefined): saved is PageSession {
  if (!saved) return false;
  return search === saved.search || navigation === 'reload' || navigation === 'back_forward';
}

/** What to say when the dataset chosen before could not be brought back, or null when it was. */
export function keptDataProblem(saved: PageSession['data'], kept: KeptDataset | null): string | null {
  if (!saved) return null;
  if (kept && kept.fileName === saved.fileName && typeof kept.text === 'string') return null;
  return `${saved.fileName}, chosen before this page was reloaded, could not be read back from this browser's storage (it may have been cleared): choose it again, or training uses the demo dataset.`;
}

/** The session and its kept dataset read before the page is built (both reads are best effort). */
export async function restoredDataset(saved: PageSession): Promise<{ input: DataInput | null; problem: string | null }> {
  if (!saved.data) return { input: null, problem: null };
  const kept = await readKeptDataset().catch(() => null);
  const problem = keptDataProblem(saved.data, kept);
  return problem || !kept ? { input: null, problem } : { input: { text: kept.text, fileName: kept.fileName, origin: kept.origin, kept: true }, problem: null };
}

function keptData(input: DataInput | null): { fileName: string; origin: KeptDataOrigin } | null {
  return input && KEPT_ORIGINS.includes(input.origin) ? { fileName: input.fileName, origin: input.origin as KeptDataOrigin } : null;
}

/** Saves the settings and the chosen dataset as they change; a dataset too large to keep is said in the Data panel. */
export function keepSession(app: App): void {
  // Only a change writes the dataset: a visit that brought nothing back does not drop what is stored.
  let lastInput: DataInput | null = app.store.get().dataInput;
  const save = (s: AppState) => savePageSession({ settings: s.settings, search: location.search, onInvalid: s.onInvalid, data: keptData(s.dataInput) });
  app.store.subscribe((s, prev) => {
    if (s.dataInput !== lastInput) {
      lastInput = s.dataInput;
      const input = s.dataInput;
      // A kept dataset is already stored; any other change rewrites (or drops) the stored text.
      if (!input?.kept) {
        const d = keptData(input);
        keepDataset(d && input ? { text: input.text, fileName: d.fileName, origin: d.origin } : null).catch((e) => {
          const full = isQloraError(e) || (e instanceof DOMException && /Quota/.test(e.name));
          app.store.set({ dataNote: `${input?.fileName ?? 'The dataset'} could not be kept in this browser's storage${full ? ' (it is full)' : ''}: after a reload it has to be chosen again.` });
        });
      }
    }
    if (s === prev || s.settings !== prev.settings || s.dataInput !== prev.dataInput || s.onInvalid !== prev.onInvalid) save(s);
  });
  // The address can change without the settings (Copy link writes them into it): saved as the page goes.
  addEventListener('pagehide', () => save(app.store.get()));
}
