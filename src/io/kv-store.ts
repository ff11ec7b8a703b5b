// Where the model cache keeps its entries: a four-method key-value store, so the cache logic runs the
// same over IndexedDB in the browser (idb-keyval, which stores typed arrays natively by structured
// clone) and over a Map in Node tests (which clones the same way, and can play a full disk).
import { createStore, del as idbDel, get as idbGet, keys as idbKeys, set as idbSet } from 'idb-keyval';

export interface KeyValueStore {
  get(key: string): Promise<unknown>;
  /** Values are structured-cloned (typed arrays kept as they are). */
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/** IndexedDB through idb-keyval: typed arrays are stored natively by structured clone. */
export function idbStore(dbName = 'qlora-webgpu-models', storeName = 'entries'): KeyValueStore {
  const store = createStore(dbName, storeName);
  return {
    get: (key) => idbGet(key, store),
    set: (key, value) => idbSet(key, value, store),
    del: (key) => idbDel(key, store),
    keys: async () => (await idbKeys(store)).filter((k): k is string => typeof k === 'string'),
  };
}

/** Bytes a value occupies, roughly: its typed arrays and strings (what a quota counts). */
export function approxBytes(value: unknown): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (typeof value === 'string') return value.length * 2;
  if (typeof value !== 'object' || value === null) return 8;
  let n = 0;
  for (const v of Object.values(value)) n += approxBytes(v);
  return n;
}

/** In memory, cloning like IndexedDB does; `quotaBytes` makes writes fail as a full disk would. */
export function memoryStore(opts: { quotaBytes?: number } = {}): KeyValueStore & { bytes(): number } {
  const map = new Map<string, unknown>();
  const sizes = new Map<string, number>();
  const used = () => [...sizes.values()].reduce((a, b) => a + b, 0);
  return {
    get: async (key) => (map.has(key) ? structuredClone(map.get(key)) : undefined),
    async set(key, value) {
      const size = approxBytes(value);
      if (opts.quotaBytes !== undefined && used() - (sizes.get(key) ?? 0) + size > opts.quotaBytes) {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      map.set(key, structuredClone(value));
      sizes.set(key, size);
    },
    del: async (key) => {
      map.delete(key);
      sizes.delete(key);
    },
    keys: async () => [...map.keys()],
    bytes: used,
  };
}
