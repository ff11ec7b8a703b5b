// What a matrix product is generated for: the back end (what arithmetic the adapter offers), the
// workgroup tile, and for the subgroup-matrix back ends the fragment shape the adapter reports.
// Chosen per product from the GpuContext (ops/matmul.ts, ops/lora-fused.ts); the grid follows the tile.
// Checked by: test/gemm.test.ts (every back end that runs here, every tile, ragged shapes).

/**
 * scalar                    register-tiled f32 (exact at f32 tolerances; what SwiftShader selects)
 * scalar-f16                the same walk with f16 tiles and products, f32 accumulation (`shader-f16`)
 * subgroup-matrix           tensor cores: f16 fragments, f32 accumulators (`chromium-experimental-subgroup-matrix`)
 * subgroup-matrix-emulated  the subgroup-matrix walk in core WGSL, the three primitives as plain loops
 */
export type GemmBackend = 'scalar' | 'scalar-f16' | 'subgroup-matrix' | 'subgroup-matrix-emulated';
export const GEMM_BACKENDS: readonly GemmBackend[] = ['scalar', 'scalar-f16', 'subgroup-matrix', 'subgroup-matrix-emulated'];

/** Workgroup tile edge (BM = BN): 64 for small products (LoRA ranks, M = 1), 128 for the big ones. */
export type GemmTile = 64 | 128;

/** A subgroup-matrix fragment shape: left M×K, right K×N, result M×N (f16 operands, f32 result). */
export interface MatrixShape {
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

export interface GemmVariant {
  readonly backend: GemmBackend;
  readonly tile: GemmTile;
  /** Fragment shape (subgroup-matrix back ends; ignored by scalar). */
  readonly frag: MatrixShape;
  /** Lanes per subgroup the walk is laid out for: the adapter's subgroupMaxSize on hardware, 32 emulated. */
  readonly subgroupSize: number;
}

/** What a GpuContext carries to make variants: the back end, and a tile when one is forced. */
export interface GemmSetup {
  readonly backend: GemmBackend;
  readonly frag: MatrixShape;
  readonly subgroupSize: number;
  readonly tile?: GemmTile;
}

/** NVIDIA's f16 configuration, the emulated default (ONNX Runtime's and llama.cpp's NVIDIA tiling). */
export const DEFAULT_FRAG: MatrixShape = { M: 16, N: 16, K: 16 };
export const EMULATED_SUBGROUP_SIZE = 32; // NVIDIA's warp: the lane share of a fragment is laid out for it

/** Workgroups below which the 128 tile leaves a large GPU idle (an H200 has 132 SMs). */
const MIN_LARGE_TILE_WORKGROUPS = 64;

/** The tile for an M×N product: the forced one, else 128 when it still gives enough workgroups. */
export function chooseTile(setup: GemmSetup, M: number, N: number): GemmTile {
  if (setup.tile) return setup.tile;
  return Math.ceil(M / 128) * Math.ceil(N / 128) >= MIN_LARGE_TILE_WORKGROUPS ? 128 : 64;
}

export function gemmVariant(setup: GemmSetup, M: number, N: number): GemmVariant {
  return { backend: setup.backend, tile: chooseTile(setup, M, N), frag: setup.frag, subgroupSize: setup.subgroupSize };
}

/** Workgroups for C[M, N]: (ceil(N / tile), ceil(M / tile)). */
export const gemmGrid = (v: GemmVariant, M: number, N: number): [number, number] => [Math.ceil(N / v.tile), Math.ceil(M / v.tile)];

/** The label suffix every product's kernel carries, e.g. `linear_fwd_nf4@subgroup-matrix-emulated/t128`. */
export function gemmLabel(v: GemmVariant): string {
  const frag = v.backend.startsWith('subgroup') ? `/${v.frag.M}x${v.frag.N}x${v.frag.K}` : '';
  return `@${v.backend}/t${v.tile}${frag}`;
}
