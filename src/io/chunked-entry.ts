// Stores a value whose typed arrays may be large (a 128k-vocabulary embedding is 500 MB in bf16) as
// several store entries of bounded size: browsers serialize an IndexedDB value whole, so one huge value
// means a second full copy in memory and, in some browsers, a failed write. Large arrays are cut into
// `${entry}~${i}` pieces and replaced in the value by a small reference, so every entry, the value
// itself included, holds at most ENTRY_MAX_BYTES of array data.
import type { KeyValueStore } from './kv-store';

/** A piece is missing or does not fit: the entry is damaged (not a storage failure). */
export class BrokenEntryError extends Error {}

/** 32 MiB: a layer of a 1B model fits in one entry; an embedding takes a few dozen. */
export const ENTRY_MAX_BYTES = 32 << 20;

type Typed = Float32Array | Uint16Array | Uint8Array;
const TYPES = { Float32Array, Uint16Array, Uint8Array } as const;
type TypeName = keyof typeof TYPES;

interface ChunkRef {
  $first: number; // pieces at `${entry}~${first}` … `${entry}~${first + chunks - 1}`
  $chunks: number;
  $type: TypeName;
  $length: number; // elements
}

function isChunkRef(v: unknown): v is ChunkRef {
  return typeof v === 'object' && v !== null && '$chunks' in v && '$type' in v;
}

function typeName(a: ArrayBufferView): TypeName | null {
  for (const name of Object.keys(TYPES) as TypeName[]) if (a instanceof TYPES[name]) return name;
  return null;
}

/** Writes `value` (pieces first, the entry itself last) and returns the keys of its pieces. */
export async function putChunked(store: KeyValueStore, entry: string, value: unknown, maxBytes = ENTRY_MAX_BYTES): Promise<string[]> {
  const pieces: string[] = [];
  let inline = 0; // bytes of arrays kept in the entry itself: at most maxBytes
  const split = async (v: unknown): Promise<unknown> => {
    if (ArrayBuffer.isView(v)) {
      const type = typeName(v);
      if (!type || inline + v.byteLength <= maxBytes) {
        inline += v.byteLength;
        return v;
      }
      const a = v as Typed;
      const per = Math.max(1, Math.floor(maxBytes / a.BYTES_PER_ELEMENT));
      const ref: ChunkRef = { $first: pieces.length, $chunks: Math.ceil(a.length / per), $type: type, $length: a.length };
      for (let i = 0; i < ref.$chunks; i++) {
        const key = `${entry}~${pieces.length}`;
        await store.set(key, a.slice(i * per, (i + 1) * per));
        pieces.push(key);
      }
      return ref;
    }
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await split(x);
    return out;
  };
  await store.set(entry, await split(value));
  return pieces;
}

/** Reads what putChunked wrote, joining pieces back into one array; undefined when absent. */
export async function getChunked(store: KeyValueStore, entry: string): Promise<unknown> {
  const join = async (v: unknown): Promise<unknown> => {
    if (isChunkRef(v)) {
      const first = v.$first;
      const Type = TYPES[v.$type];
      if (!Type || !Number.isSafeInteger(first) || !Number.isSafeInteger(v.$length)) throw new BrokenEntryError('bad piece reference');
      const out = new Type(v.$length);
      let at = 0;
      for (let i = 0; i < v.$chunks; i++) {
        const piece = await store.get(`${entry}~${first + i}`);
        if (!(piece instanceof Type) || at + piece.length > out.length) throw new BrokenEntryError(`piece ${first + i} is missing or has the wrong size`);
        out.set(piece as never, at);
        at += piece.length;
      }
      if (at !== out.length) throw new BrokenEntryError(`its pieces hold ${at} of ${out.length} elements`);
      return out;
    }
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await join(x);
    return out;
  };
  return join(await store.get(entry));
}
