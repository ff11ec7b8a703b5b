// The tuning table (tuning-table.json): the tilings `bench --sweep` measured fastest, per adapter and back
// end, by shape class. An adapter is known by what decides a kernel's speed and what it can build: vendor,
// architecture, subgroup size and its subgroup-matrix configurations. createGpuContext looks its adapter
// up; where no entry matches, or an entry names a tiling this build cannot make or the device cannot fit,
// products get the safe default (config.ts defaultTiling) — a table can only make things faster, never break them.
// The sweep writes the whole table back with its adapter's entry added or replaced, so its file is committed as is.
// Checked by: test/gemm-tuning.test.ts.
import type { GemmBackend, GemmShapeClass, GemmTiling, GemmTunedTilings, MatrixShape } from './config';
import { GEMM_BACKENDS, GEMM_SHAPE_CLASSES } from './config';
import { parseTilingId, tilingId, tilingProblem, variantSpace, workgroupBytes } from './variants';
import committed from './tuning-table.json';

/** What identifies an adapter to the table. */
export interface AdapterKey {
  readonly vendor: string;
  readonly architecture: string;
  readonly subgroupSize: number;
  /** Subgroup-matrix configurations, `f16>f32 16x16x16`, sorted (empty without the feature). */
  readonly matrix: readonly string[];
}

export interface TuningEntry {
  readonly adapter: AdapterKey;
  /** Where and when it was measured (free-form: device name, date, commit, budget). */
  readonly measured?: Record<string, string | number>;
  /** Per back end, per shape class: a tiling id. */
  readonly tilings: Partial<Record<GemmBackend, Partial<Record<GemmShapeClass, string>>>>;
}

export interface TuningTable {
  readonly about?: string;
  readonly entries: readonly TuningEntry[];
}

export const TUNING_TABLE: TuningTable = committed as TuningTable;

interface MatrixConfigInfo {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** The key of an adapter from its GPUAdapterInfo (WebIDL objects: read field by field). */
export function adapterKey(info: GPUAdapterInfo | undefined): AdapterKey {
  const i = (info ?? {}) as unknown as { vendor?: string; architecture?: string; subgroupMaxSize?: number; subgroupMatrixConfigs?: Iterable<MatrixConfigInfo> };
  const matrix = [...(i.subgroupMatrixConfigs ?? [])].map((c) => `${c.componentType}>${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).sort();
  return { vendor: i.vendor ?? '', architecture: i.architecture ?? '', subgroupSize: i.subgroupMaxSize ?? 0, matrix };
}

const sameKey = (a: AdapterKey, b: AdapterKey) =>
  a.vendor === b.vendor && a.architecture === b.architecture && a.subgroupSize === b.subgroupSize && a.matrix.join('|') === b.matrix.join('|');

/**
 * The tuned tilings of one back end for this adapter: those of the matching entry that parse, that the
 * generator can build for this fragment and subgroup size, and that fit the device's workgroup memory.
 */
export function tunedTilings(
  table: TuningTable, key: AdapterKey, backend: GemmBackend, frag: MatrixShape, subgroupSize: number, maxWorkgroupBytes: number,
): GemmTunedTilings | undefined {
  const entry = table.entries.find((e) => sameKey(e.adapter, key));
  const ids = entry?.tilings[backend];
  if (!ids) return undefined;
  const out: Partial<Record<GemmShapeClass, GemmTiling>> = {};
  for (const cls of GEMM_SHAPE_CLASSES) {
    const t = ids[cls] ? parseTilingId(ids[cls]!) : null;
    if (!t) continue;
    const v = { ...t, backend, frag, subgroupSize };
    if (!tilingProblem(v) && workgroupBytes(v) <= maxWorkgroupBytes) out[cls] = t;
  }
  return out;
}

/** The f16 → f32 fragment createGpuContext picks from a key's configurations (16×16×16 first), else NVIDIA's. */
export function preferredFrag(key: AdapterKey): MatrixShape {
  const shapes = key.matrix
    .filter((c) => c.startsWith('f16>f32 '))
    .map((c) => c.slice(8).split('x').map(Number))
    .map(([M, N, K]) => ({ M, N, K }));
  return shapes.find((c) => c.M === 16 && c.N === 16 && c.K === 16) ?? shapes[0] ?? { M: 16, N: 16, K: 16 };
}

/** The table with `entry` added, or replacing the entry of the same adapter (the sweep's output). */
export function withEntry(table: TuningTable, entry: TuningEntry): TuningTable {
  return { ...table, entries: [...table.entries.filter((e) => !sameKey(e.adapter, entry.adapter)), entry] };
}

/** Problems of a table read from a file: unknown back ends or classes, ids that are not in the sweep's space. */
export function tableProblems(table: TuningTable): string[] {
  const problems: string[] = [];
  table.entries.forEach((e, n) => {
    const frag = preferredFrag(e.adapter);
    for (const [backend, byClass] of Object.entries(e.tilings)) {
      if (!(GEMM_BACKENDS as readonly string[]).includes(backend)) { problems.push(`entry ${n}: unknown back end '${backend}'`); continue; }
      const space = new Set(variantSpace(backend as GemmBackend, frag, e.adapter.subgroupSize || 32, { maxBytes: Infinity, maxThreads: Infinity }).map(tilingId));
      for (const [cls, id] of Object.entries(byClass ?? {})) {
        if (!(GEMM_SHAPE_CLASSES as readonly string[]).includes(cls)) problems.push(`entry ${n}: unknown shape class '${cls}'`);
        else if (!space.has(id!)) problems.push(`entry ${n}: ${backend} ${cls} '${id}' is not a tiling of the sweep's space`);
      }
    }
  });
  return problems;
}
