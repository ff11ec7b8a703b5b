// Runs in IndexedDB (idb-keyval): the record (settings, progress, history), the latest checkpoint
// (adapter, AdamW moments, data position) and the dataset text, so a reload, a crash or a lost device
// resumes exactly where the run stopped. Separate entries, so a checkpoint write does not rewrite the data.
import { createStore, get, set, del, keys } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import { QloraError } from '../errors';
import type { RunCheckpoint } from '../engine/training-run';
import type { RunRecord } from './protocol';

let store: UseStore | null = null;
const db = () => (store ??= createStore('qlora-runs', 'runs'));

export interface RunData {
  text: string;
  fileName: string;
  onInvalid: 'stop' | 'skip';
  initAdapter: { config: string; weights: Uint8Array } | null;
}

async function guarded<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof DOMException && (e.name === 'QuotaExceededError' || e.name === 'QuotaExceeded')) {
      throw new QloraError('STORAGE', `Browser storage is full while saving ${what}. Delete cached models or runs in the Storage panel, or allow this site more storage.`);
    }
    throw e;
  }
}

export const runStore = {
  saveRecord: (r: RunRecord) => guarded('the run', () => set(`record:${r.id}`, r, db())),
  saveData: (id: string, d: RunData) => guarded('the dataset', () => set(`data:${id}`, d, db())),
  saveCheckpoint: (id: string, c: RunCheckpoint) => guarded('a checkpoint', () => set(`checkpoint:${id}`, c, db())),
  record: (id: string) => get<RunRecord>(`record:${id}`, db()),
  data: (id: string) => get<RunData>(`data:${id}`, db()),
  checkpoint: (id: string) => get<RunCheckpoint>(`checkpoint:${id}`, db()),
  async records(): Promise<RunRecord[]> {
    const all = (await keys(db())).filter((k) => String(k).startsWith('record:'));
    const out: RunRecord[] = [];
    for (const k of all) {
      const r = await get<RunRecord>(k, db());
      if (r) out.push(r);
    }
    return out.sort((a, b) => b.updated - a.updated);
  },
  async sizeOf(id: string): Promise<number> {
    const c = await get<RunCheckpoint>(`checkpoint:${id}`, db());
    const d = await get<RunData>(`data:${id}`, db());
    return (c ? c.params.byteLength * 3 : 0) + (d ? d.text.length * 2 + (d.initAdapter?.weights.byteLength ?? 0) : 0);
  },
  async remove(id: string): Promise<void> {
    for (const p of ['record', 'data', 'checkpoint']) await del(`${p}:${id}`, db());
  },
};
