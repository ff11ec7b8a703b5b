// HostWeights as plain objects of numbers and typed arrays, the form IndexedDB stores best, and back.
// Reading checks every length against the shape, so a damaged cache entry fails here with its name
// rather than in a kernel.
import type { HostLayerWeights } from '../engine/base-weights';
import { LORA_MODULES, type LoraModule } from '../engine/lora';
import { GDN_TENSORS, type GdnTensor } from '../engine/mixers/gated-delta-net';
import type { NormRole } from '../formats/architectures';
import { NORM_ROLES } from '../formats/architectures';
import type { HostWeight } from '../gpu/weight';

/** A HostWeight as a flat object of numbers and typed arrays (what IndexedDB stores best). */
export type StoredWeight =
  | { format: 'f32'; rows: number; cols: number; data: Float32Array }
  | { format: 'f16' | 'bf16'; rows: number; cols: number; data: Uint16Array }
  | { format: 'nf4'; rows: number; cols: number; blocksize: number; packed: Uint8Array; absmax: Float32Array }
  | {
      format: 'nf4dq';
      rows: number;
      cols: number;
      blocksize: number;
      packed: Uint8Array;
      codes: Uint8Array;
      nestedAbsmax: Float32Array;
      offset: number;
      code: Float32Array;
      nestedBlocksize: number;
    };

/** A view into a larger buffer would make structured clone store the whole buffer: copy it down. */
export function compact<T extends ArrayBufferView>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : ((a as unknown as { slice(): T }).slice());
}

export function weightToStored(w: HostWeight): StoredWeight {
  const { rows, cols } = w;
  if (w.format === 'f32') return { format: 'f32', rows, cols, data: compact(w.data) };
  if (w.format !== 'nf4') return { format: w.format, rows, cols, data: compact(w.data) };
  const q = w.data;
  const base = { rows, cols, blocksize: q.blocksize, packed: compact(q.packed) };
  if (q.absmax instanceof Float32Array) return { format: 'nf4', ...base, absmax: compact(q.absmax) };
  const a = q.absmax;
  return { format: 'nf4dq', ...base, codes: compact(a.codes), nestedAbsmax: compact(a.nestedAbsmax), offset: a.offset, code: compact(a.code), nestedBlocksize: a.nestedBlocksize };
}

/** Throws a plain Error naming `where` and what is wrong; the cache turns it into STORAGE. */
export function weightFromStored(s: unknown, where: string): HostWeight {
  const bad = (why: string): never => {
    throw new Error(`${where}: ${why}`);
  };
  const o = s as Partial<Record<string, unknown>>;
  if (typeof o !== 'object' || o === null) return bad('not an object');
  const rows = o.rows as number;
  const cols = o.cols as number;
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 1 || cols < 1) bad(`shape [${rows}, ${cols}]`);
  const n = rows * cols;
  const typed = <T>(v: unknown, Type: abstract new (...args: never[]) => T, length: number, name: string): T => {
    if (!(v instanceof Type) || (v as unknown as ArrayLike<number>).length !== length) bad(`${name} is not a ${Type.name}[${length}]`);
    return v as T;
  };
  switch (o.format) {
    case 'f32':
      return { format: 'f32', rows, cols, data: typed(o.data, Float32Array, n, 'data') };
    case 'f16':
    case 'bf16':
      return { format: o.format, rows, cols, data: typed(o.data, Uint16Array, n, 'data') };
    case 'nf4':
    case 'nf4dq': {
      const blocksize = o.blocksize as number;
      if (!Number.isSafeInteger(blocksize) || blocksize < 2) bad(`blocksize ${blocksize}`);
      const blocks = Math.ceil(n / blocksize);
      const packed = typed(o.packed, Uint8Array, Math.ceil(n / 2), 'packed');
      const shape = [rows, cols] as [number, number];
      if (o.format === 'nf4') return { format: 'nf4', rows, cols, data: { shape, packed, blocksize, absmax: typed(o.absmax, Float32Array, blocks, 'absmax') } };
      const nestedBlocksize = o.nestedBlocksize as number;
      if (!Number.isSafeInteger(nestedBlocksize) || nestedBlocksize < 1) bad(`nestedBlocksize ${nestedBlocksize}`);
      if (typeof o.offset !== 'number') bad('offset missing');
      const absmax = {
        codes: typed(o.codes, Uint8Array, blocks, 'codes'),
        nestedAbsmax: typed(o.nestedAbsmax, Float32Array, Math.ceil(blocks / nestedBlocksize), 'nestedAbsmax'),
        offset: o.offset as number,
        code: typed(o.code, Float32Array, 256, 'code'),
        nestedBlocksize,
      };
      return { format: 'nf4', rows, cols, data: { shape, packed, blocksize, absmax } };
    }
    default:
      return bad(`unknown format ${JSON.stringify(o.format)}`);
  }
}

export interface StoredLayer {
  /** By NormRole. Entries cached before Qwen3/Gemma 3 support hold inputNorm / postNorm instead (read below). */
  norms: Record<string, Float32Array>;
  proj: Record<string, StoredWeight>;
  bias: Record<string, Float32Array>;
  original?: Record<string, Float32Array>;
  /** A linear_attention layer's Gated DeltaNet tensors (absent elsewhere). */
  gdn?: Record<string, Float32Array>;
}

export function layerToStored(l: HostLayerWeights): StoredLayer {
  const proj: Record<string, StoredWeight> = {};
  const bias: Record<string, Float32Array> = {};
  for (const [m, w] of Object.entries(l.proj)) {
    proj[m] = weightToStored(w!);
    const b = l.bias[m as LoraModule];
    if (b) bias[m] = compact(b);
  }
  const norms = Object.fromEntries(Object.entries(l.norms).map(([role, w]) => [role, compact(w!)]));
  const stored: StoredLayer = { norms, proj, bias };
  if (l.gdn) stored.gdn = Object.fromEntries(Object.entries(l.gdn).map(([t, v]) => [t, compact(v)]));
  if (l.original) stored.original = Object.fromEntries(Object.entries(l.original).map(([m, v]) => [m, compact(v!)]));
  return stored;
}

export function vectorFromStored(v: unknown, where: string): Float32Array {
  if (!(v instanceof Float32Array)) throw new Error(`${where}: not a Float32Array`);
  return v;
}

export function layerFromStored(s: unknown, where: string): HostLayerWeights {
  const o = s as Partial<StoredLayer> | undefined;
  if (!o || typeof o !== 'object' || !o.proj || !o.bias) throw new Error(`${where}: not a layer`);
  const proj: Partial<Record<LoraModule, HostWeight>> = {};
  const bias: Partial<Record<LoraModule, Float32Array>> = {};
  for (const m of LORA_MODULES) {
    if (o.proj[m] === undefined) continue; // a projection of another layer kind's mixer
    proj[m] = weightFromStored(o.proj[m], `${where}.${m}`);
    if (o.bias[m] !== undefined) bias[m] = vectorFromStored(o.bias[m], `${where}.${m}.bias`);
  }
  const norms: HostLayerWeights['norms'] = {};
  const legacy = o as { inputNorm?: unknown; postNorm?: unknown };
  if (o.norms === undefined && legacy.inputNorm !== undefined) {
    // The Llama/Qwen2 layout of older cache entries: input_layernorm and post_attention_layernorm.
    norms.attnIn = vectorFromStored(legacy.inputNorm, `${where}.inputNorm`);
    norms.mlpIn = vectorFromStored(legacy.postNorm, `${where}.postNorm`);
  } else {
    if (!o.norms || typeof o.norms !== 'object') throw new Error(`${where}: no norms`);
    for (const [role, v] of Object.entries(o.norms)) {
      if (!(NORM_ROLES as readonly string[]).includes(role)) throw new Error(`${where}: unknown norm ${JSON.stringify(role)}`);
      norms[role as NormRole] = vectorFromStored(v, `${where}.norms.${role}`);
    }
  }
  const layer: HostLayerWeights = { norms, proj, bias };
  if (o.gdn) {
    const gdn = {} as Record<GdnTensor, Float32Array>;
    for (const t of GDN_TENSORS) gdn[t] = vectorFromStored(o.gdn[t], `${where}.${t}`);
    layer.gdn = gdn;
  }
  if (o.original) layer.original = Object.fromEntries(Object.entries(o.original).map(([m, v]) => [m, vectorFromStored(v, `${where}.${m}.original`)]));
  return layer;
}
