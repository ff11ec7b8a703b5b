// Runs kept in a key-value store (IndexedDB in the page, a Map in Node tests): the record (settings,
// progress, history), the latest checkpoint (adapter, AdamW moments, data position) and the dataset
// text, so a reload, a crash or a lost device resumes exactly where the run stopped. Separate entries,
// so a checkpoint write does not rewrite the data.
import { QloraError } from '../errors';
import type { KeyValueStore } from '../io/kv-store';
import type { RunCheckpoint } from '../engine/training-run';
import type { RunRecord } from '../worker/protocol';

export interface RunData {
  text: string;
  fileName: string;
  onInvalid: 'stop' | 'skip';
  initAdapter: { config: string; weights: Uint8Array } | null;
}

export interface RunStore {
  saveRecord(r: RunRecord): Promise<void>;
  saveData(id: string, d: RunData): Promise<void>;
  saveCheckpoint(id: string, c: RunCheckpoint): Promise<void>;
  record(id: string): Promise<RunRecord | undefined>;
  data(id: string): Promise<RunData | undefined>;
  checkpoint(id: string): Promise<RunCheckpoint | undefined>;
  /** Newest first. */
  records(): Promise<RunRecord[]>;
  /** About how many bytes the run takes in storage. */
  sizeOf(id: string): Promise<number>;
  remove(id: string): Promise<void>;
}

async function guarded<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (typeof DOMException !== 'undefined' && e instanceof DOMException && (e.name === 'QuotaExceededError' || e.name === 'QuotaExceeded')) {
      throw new QloraError('STORAGE', `Browser storage is full while saving ${what}. Delete cached models or runs in the Storage panel, or allow this site more storage.`);
    }
    throw e;
  }
}

export function runStoreOver(kv: KeyValueStore): RunStore {
  const get = <T>(key: string) => kv.get(key) as Promise<T | undefined>;
  return {
    saveRecord: (r) => guarded('the run', () => kv.set(`record:${r.id}`, r)),
    saveData: (id, d) => guarded('the dataset', () => kv.set(`data:${id}`, d)),
    saveCheckpoint: (id, c) => guarded('a checkpoint', () => kv.set(`checkpoint:${id}`, c)),
    record: (id) => get<RunRecord>(`record:${id}`),
    data: (id) => get<RunData>(`data:${id}`),
    checkpoint: (id) => get<RunCheckpoint>(`checkpoint:${id}`),
    async records() {
      const out: RunRecord[] = [];
      for (const k of (await kv.keys()).filter((k) => k.startsWith('record:'))) {
        const r = await get<RunRecord>(k);
        if (r) out.push(r);
      }
      return out.sort((a, b) => b.updated - a.updated);
    },
    async sizeOf(id) {
      const c = await get<RunCheckpoint>(`checkpoint:${id}`);
      const d = await get<RunData>(`data:${id}`);
      return (c ? c.params.byteLength * 3 : 0) + (d ? d.text.length * 2 + (d.initAdapter?.weights.byteLength ?? 0) : 0);
    },
    async remove(id) {
      for (const p of ['record', 'data', 'checkpoint']) await kv.del(`${p}:${id}`);
    },
  };
}
