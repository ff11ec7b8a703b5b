// What a matrix product is generated for: the back end (what arithmetic the adapter offers), the
// workgroup tile, and for the subgroup-matrix back ends the fragment shape the adapter reports.
// Chosen per product from the GpuContext (ops/matmul.ts, ops/lora-fused.ts); the grid follows the tile.
// Checked by: test/gemm.test.ts (every back end that runs here, every tile, ragged shapes).
import type { AdapterKey } from './tuning';

/**
 * scalar                    register-tiled f32 (exact at f32 tolerances; what SwiftShader selects)
 * scalar-f16                the same walk with f16 tiles and products, f32 accumulation (`shader-f16`)
 * subgroup-matrix           tensor cores: f16 fragments, f32 accumulators (`chromium-experimental-subgroup-matrix`)
 * subgroup-matrix-emulated  the subgroup-matrix walk in core WGSL, the three primitives as plain loops
 */
export type GemmBackend = 'scalar' | 'scalar-f16' | 'subgroup-matrix' | 'subgroup-matrix-emulated';
export const GEMM_BACKENDS: readonly GemmBackend[] = ['scalar', 'scalar-f16', 'subgroup-matrix', 'subgroup-matrix-emulated'];

/** Workgroup tile edge of the safe default (BM = BN): 64 for small products (LoRA ranks, M = 1), 128 for the big ones. */
export type GemmTile = 64 | 128;

/** A subgroup-matrix fragment shape: left M×K, right K×N, result M×N (f16 operands, f32 result). */
export interface MatrixShape {
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

/**
 * The generator's choices for one product, what `bench --sweep` varies and the tuning table records
 * (gemm/variants.ts names, enumerates and validates them).
 */
export interface GemmTiling {
  /** Workgroup tile: rows of C (M) and columns (N). */
  readonly tileM: number;
  readonly tileN: number;
  /** K per workgroup-memory tile (one barrier pair each); divides SPLIT_K_ALIGN. */
  readonly kStep: number;
  /** Subgroups per workgroup along M and N (subgroup-matrix back ends; 1 × 1 for scalar, 16 × 16 threads). */
  readonly sgM: number;
  readonly sgN: number;
  /** The next k tile read from global memory into registers while the current one multiplies. */
  readonly prefetch: boolean;
  /** f16 elements of skew after each workgroup-memory row (subgroup-matrix), against bank conflicts. */
  readonly pad: number;
}

export interface GemmVariant extends GemmTiling {
  readonly backend: GemmBackend;
  /** Fragment shape (subgroup-matrix back ends; ignored by scalar). */
  readonly frag: MatrixShape;
  /** Lanes per subgroup the walk is laid out for: the adapter's subgroupMaxSize on hardware, 32 emulated. */
  readonly subgroupSize: number;
}

/**
 * Which tiling an M×N product gets: `narrow` where one side is a LoRA rank or a few rows (min(M, N) ≤ 64),
 * `medium` where 128-tiles would leave a large GPU short of workgroups, `large` otherwise.
 */
export type GemmShapeClass = 'narrow' | 'medium' | 'large';
export const GEMM_SHAPE_CLASSES: readonly GemmShapeClass[] = ['narrow', 'medium', 'large'];

/** The tuning table's choice for one back end on one adapter (gemm/tuning.ts), by shape class. */
export type GemmTunedTilings = Partial<Record<GemmShapeClass, GemmTiling>>;

/** What a GpuContext carries to make variants: the back end, its tuned tilings, and a tile or tiling when one is forced. */
export interface GemmSetup {
  readonly backend: GemmBackend;
  readonly frag: MatrixShape;
  readonly subgroupSize: number;
  /** Force the safe default tiling at this square tile (tests, the self-check). */
  readonly tile?: GemmTile;
  /** Force this exact tiling for every product (the sweep, the variant tests). */
  readonly tiling?: GemmTiling;
  /** From the tuning table's entry for this adapter (absent: the safe default by shape). */
  readonly tuned?: GemmTunedTilings;
  /** The adapter as the tuning table knows it (gemm/tuning.ts), for the sweep to file its result under. */
  readonly adapter?: AdapterKey;
}

/** NVIDIA's f16 configuration, the emulated default (ONNX Runtime's and llama.cpp's NVIDIA tiling). */
export const DEFAULT_FRAG: MatrixShape = { M: 16, N: 16, K: 16 };
export const EMULATED_SUBGROUP_SIZE = 32; // NVIDIA's warp: the lane share of a fragment is laid out for it

/** Workgroups below which the 128 tile leaves a large GPU idle (an H200 has 132 SMs). */
const MIN_LARGE_TILE_WORKGROUPS = 64;

/** The square tile of the safe default for an M×N product: 128 when it still gives enough workgroups. */
export function chooseTile(setup: GemmSetup, M: number, N: number): GemmTile {
  return setup.tile ?? defaultTile(M, N);
}

const defaultTile = (M: number, N: number): GemmTile => (Math.ceil(M / 128) * Math.ceil(N / 128) >= MIN_LARGE_TILE_WORKGROUPS ? 128 : 64);

export function gemmShapeClass(M: number, N: number): GemmShapeClass {
  if (Math.min(M, N) <= 64) return 'narrow';
  return defaultTile(M, N) === 128 ? 'large' : 'medium';
}

/**
 * The shipped tiling where nothing was measured: the walk of the first GPU run (scalar: 16 × 16 threads,
 * k step 16; subgroup-matrix: 2 × 2 subgroups, k step 32), no prefetch, no skew.
 */
export function defaultTiling(backend: GemmBackend, tile: GemmTile): GemmTiling {
  const subgroup = backend.startsWith('subgroup');
  return { tileM: tile, tileN: tile, kStep: subgroup ? 32 : 16, sgM: subgroup ? 2 : 1, sgN: subgroup ? 2 : 1, prefetch: false, pad: 0 };
}

// Split-K: a product with few output tiles and a long K (the lm_head backward dx = dlogits·W, K = the
// vocabulary) is cut into S slices of K, each a workgroup layer z writing a partial [M, N], summed by
// shaders/gemm_splitk_reduce.wgsl. It costs S·M·N floats written and read again and one more dispatch,
// so it is used only where workgroups are short: fewer than SPLIT_K_MIN_WORKGROUPS output tiles and
// K ≥ SPLIT_K_MIN_K (Llama-3.2-1B at 8×512: a 512×2048 chunk is 64 tiles of 128 over K = 128,256).
// Decided from the shape alone (the default tile), so the memory estimate follows without a context.

/** Every back end's k step divides it (scalar 16, subgroup-matrix 32): a slice is whole k tiles. */
export const SPLIT_K_ALIGN = 32;
/** Output tiles below which a long-K product leaves a large GPU idle (132 SMs on an H200: 256 is ~2 per SM). */
export const SPLIT_K_MIN_WORKGROUPS = 256;
/** K from which a product is long enough to split (every vocabulary of a real model; no test model's). */
export const SPLIT_K_MIN_K = 16384;
/** K each slice keeps at least, so the partials' traffic stays small next to the product's. */
const SPLIT_K_MIN_SLICE = 4096;

/** K per slice for S requested slices (whole k steps), and the slices that gives (≤ S: none empty). */
export function splitK(K: number, S: number): { kSlice: number; slices: number } {
  if (!Number.isInteger(S) || S < 1) throw new Error(`split-K: slices must be a positive integer, got ${S}`);
  const kSlice = Math.max(SPLIT_K_ALIGN, Math.ceil(Math.ceil(K / S) / SPLIT_K_ALIGN) * SPLIT_K_ALIGN);
  return { kSlice, slices: Math.max(1, Math.ceil(K / kSlice)) };
}

/** Slices of K for an M×N×K product by the rule above: 1 (no split) unless it pays. */
export function chooseSplitK(M: number, N: number, K: number): number {
  if (K < SPLIT_K_MIN_K) return 1;
  const tile = defaultTile(M, N);
  const tiles = Math.ceil(M / tile) * Math.ceil(N / tile);
  if (tiles >= SPLIT_K_MIN_WORKGROUPS) return 1;
  const S = Math.min(Math.ceil(SPLIT_K_MIN_WORKGROUPS / tiles), Math.floor(K / SPLIT_K_MIN_SLICE));
  return S > 1 ? splitK(K, S).slices : 1;
}

/** The variant an M×N product runs as: a forced tiling or tile, else the tuned one for its class, else the default. */
export function gemmVariant(setup: GemmSetup, M: number, N: number): GemmVariant {
  const tiling =
    setup.tiling ??
    (setup.tile ? defaultTiling(setup.backend, setup.tile) : setup.tuned?.[gemmShapeClass(M, N)] ?? defaultTiling(setup.backend, defaultTile(M, N)));
  return { ...tiling, backend: setup.backend, frag: setup.frag, subgroupSize: setup.subgroupSize };
}

/** Workgroups for C[M, N]: (ceil(N / tileN), ceil(M / tileM)); a split product adds its slices as z. */
export const gemmGrid = (v: GemmVariant, M: number, N: number): [number, number] => [Math.ceil(N / v.tileN), Math.ceil(M / v.tileM)];

/**
 * The label suffix every product's kernel carries: the back end, the tile, the fragment, and the rest of
 * the tiling where it is not the default's, e.g. `linear_fwd_nf4@subgroup-matrix/t128/16x16x16` or
 * `matmul@scalar/t128x64/k32/pf`.
 */
export function gemmLabel(v: GemmVariant): string {
  const subgroup = v.backend.startsWith('subgroup');
  const frag = subgroup ? `/${v.frag.M}x${v.frag.N}x${v.frag.K}` : '';
  const tile = v.tileM === v.tileN ? `${v.tileM}` : `${v.tileM}x${v.tileN}`;
  const base = defaultTiling(v.backend, 64);
  const extra = [
    v.kStep !== base.kStep ? `/k${v.kStep}` : '',
    v.sgM !== base.sgM || v.sgN !== base.sgN ? `/sg${v.sgM}x${v.sgN}` : '',
    v.prefetch ? '/pf' : '',
    v.pad ? `/pad${v.pad}` : '',
  ].join('');
  return `@${v.backend}/t${tile}${frag}${extra}`;
}
