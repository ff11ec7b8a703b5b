// The tuning table (src/gpu/gemm/tuning.ts, tuning-table.json) and how a product picks its variant
// (config.ts gemmVariant): pure Node, no GPU. The committed table must be valid; an adapter without an
// entry, or an entry the device cannot fit, gets the safe default.
import { describe, it, expect } from 'vitest';
import { DEFAULT_FRAG, defaultTiling, gemmShapeClass, gemmVariant, parseTilingId, tilingId, variantSpace } from '../src/gpu/gemm';
import type { GemmBackend, GemmSetup } from '../src/gpu/gemm';
import { TUNING_TABLE, adapterKey, preferredFrag, tableProblems, tunedTilings, withEntry } from '../src/gpu/gemm/tuning';
import type { TuningTable } from '../src/gpu/gemm/tuning';

const H200 = adapterKey({
  vendor: 'nvidia', architecture: 'hopper', subgroupMaxSize: 32,
  subgroupMatrixConfigs: [
    { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 8, K: 16 },
    { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 },
  ],
} as unknown as GPUAdapterInfo);

const TABLE: TuningTable = {
  entries: [{
    adapter: H200,
    tilings: {
      'subgroup-matrix': { large: '128x128.k32.sg4x2.pf.pad8', medium: '64x64.k32.sg2x2.pf.pad8', narrow: 'not-a-tiling' },
      scalar: { large: '128x64.k16.pf' },
    },
  }],
};

describe('the tuning table', () => {
  it('keys an adapter by vendor, architecture, subgroup size and sorted matrix configurations', () => {
    expect(H200).toEqual({ vendor: 'nvidia', architecture: 'hopper', subgroupSize: 32, matrix: ['f16>f32 16x16x16', 'f16>f32 16x8x16'] });
    expect(preferredFrag(H200)).toEqual({ M: 16, N: 16, K: 16 });
    expect(adapterKey(undefined)).toEqual({ vendor: '', architecture: '', subgroupSize: 0, matrix: [] });
  });

  it('the committed table is valid: every id a tiling of the sweep\'s space', () => {
    expect(tableProblems(TUNING_TABLE)).toEqual([]);
    expect(tableProblems(TABLE)).toEqual(["entry 0: subgroup-matrix narrow 'not-a-tiling' is not a tiling of the sweep's space"]);
  });

  it('gives the matching entry\'s tilings that parse and fit, nothing for another adapter', () => {
    const tuned = tunedTilings(TABLE, H200, 'subgroup-matrix', DEFAULT_FRAG, 32, 49152)!;
    expect(Object.keys(tuned).sort()).toEqual(['large', 'medium']);
    expect(tilingId(tuned.large!)).toBe('128x128.k32.sg4x2.pf.pad8');
    // 28 KiB of workgroup memory does not fit a 16 KiB device: left to the default.
    expect(tunedTilings(TABLE, H200, 'subgroup-matrix', DEFAULT_FRAG, 32, 16384)).toEqual({ medium: parseTilingId('64x64.k32.sg2x2.pf.pad8') });
    expect(tunedTilings(TABLE, { ...H200, architecture: 'ampere' }, 'subgroup-matrix', DEFAULT_FRAG, 32, 49152)).toBeUndefined();
    expect(tunedTilings(TABLE, H200, 'scalar-f16', DEFAULT_FRAG, 32, 49152)).toBeUndefined();
  });

  it('a product takes its class\'s tuned tiling, else the default; a forced tile or tiling wins', () => {
    const tuned = tunedTilings(TABLE, H200, 'scalar', DEFAULT_FRAG, 32, 49152);
    const setup: GemmSetup = { backend: 'scalar', frag: DEFAULT_FRAG, subgroupSize: 32, tuned };
    expect(gemmShapeClass(4096, 8192)).toBe('large');
    expect(gemmShapeClass(256, 1024)).toBe('medium');
    expect(gemmShapeClass(4096, 16)).toBe('narrow');
    expect(tilingId(gemmVariant(setup, 4096, 8192))).toBe('128x64.k16.pf');
    expect(tilingId(gemmVariant(setup, 256, 1024))).toBe(tilingId(defaultTiling('scalar', 64)));
    expect(tilingId(gemmVariant({ ...setup, tile: 128 }, 16, 16))).toBe('128x128.k16');
    const forced = parseTilingId('64x128.k16.pf')!;
    expect(gemmVariant({ ...setup, tiling: forced }, 4096, 8192)).toMatchObject(forced);
  });

  it('a sweep\'s result replaces its adapter\'s entry and keeps the others', () => {
    const other = { adapter: { ...H200, vendor: 'amd' }, tilings: {} };
    const t = withEntry(withEntry(TABLE, other), { adapter: H200, tilings: { scalar: { narrow: '64x64.k16' } } });
    expect(t.entries).toHaveLength(2);
    expect(t.entries.find((e) => e.adapter.vendor === 'nvidia')!.tilings).toEqual({ scalar: { narrow: '64x64.k16' } });
  });

  it('every tiling of the space has an id that reads back as itself', () => {
    for (const backend of ['scalar', 'scalar-f16', 'subgroup-matrix'] as GemmBackend[]) {
      for (const frag of [DEFAULT_FRAG, { M: 8, N: 8, K: 8 }, { M: 16, N: 8, K: 16 }]) {
        for (const t of variantSpace(backend, frag, 32)) expect(parseTilingId(tilingId(t))).toEqual(t);
      }
    }
    expect(parseTilingId('128x128')).toBeNull();
  });
});
