// Attention on tensor cores (src/gpu/attention/fwd.ts, bwd-dq.ts, bwd-dkv.ts): the tiling each kernel is
// generated for, chosen to fit the adapter's workgroup memory, and the WGSL pieces the three share.
// The kernels are written against the GEMM's three primitives (src/gpu/gemm/primitives.ts: load a left
// fragment row-major from As, a right one column-major from Bs, multiply-accumulate, store a result
// row-major into the f32 staging Cs), so `subgroup-matrix-emulated` runs the very same tile walk in core
// WGSL on SwiftShader and the tests check it.
//   Every product contracts along a dimension that is contiguous in both tiles: the loaders write a
//   block transposed where a product needs it so (V for P·V, K for dS·K, Q and dO for the dK and dV sums).
//   A subgroup owns 16 rows (queries, or keys in the dK/dV kernel) of the workgroup's tile: 16 / FM
//   fragment rows; head_dim is padded with zeros to D, a multiple of 32.
import type { GemmVariant, MatrixShape } from '../gemm/config';
import { defaultTiling } from '../gemm/config';
import type { SubgroupMatrixPrimitives } from '../gemm/primitives';

/** Rows of the tile one subgroup owns. */
export const SUBGROUP_ROWS = 16;
/** Output columns the forward pass stages per round (its f32 staging is 16 × max(BK, CHUNK) per subgroup). */
export const CHUNK = 32;

export type AttentionKernel = 'fwd' | 'dq' | 'dkv';

/** One kernel's tiling: subgroups per workgroup (each SUBGROUP_ROWS rows), the other tile's edge, padded head_dim. */
export interface AttentionTiles {
  readonly kernel: AttentionKernel;
  readonly subgroups: number;
  /** Keys per tile (fwd, dq) or query rows per tile (dkv). */
  readonly inner: number;
  readonly D: number;
}

/** Workgroup bytes of a kernel's tiles (As, Bs f16; Cs and the per-row values f32). */
export function tileBytes(t: AttentionTiles, frag: MatrixShape): number {
  const R = t.subgroups * SUBGROUP_ROWS;
  const { inner: I, D } = t;
  switch (t.kernel) {
    case 'fwd': // As Q [R][D] + P [R][I]; Bs K [I][D], then Vᵀ; Cs 16 × max(I, CHUNK) per subgroup; m, l, corr per row
      return 2 * R * (D + I) + 2 * I * D + 4 * R * Math.max(I, CHUNK) + 12 * R;
    case 'dq': // As Q, dO [R][D] + dS [R][I]; Bs K, V [I][D] (K then Kᵀ); Cs S, dP [R][I]; lse, Dsum per row
      return 2 * R * (2 * D + I) + 4 * I * D + 4 * Math.max(2 * R * I, R * frag.N) + 8 * R;
    case 'dkv': // As K, V [R][D] + Pᵀ, dSᵀ [R][I]; Bs Q, dO [I][D] (then transposed); Cs Sᵀ, dPᵀ [R][I]
      return 2 * R * (2 * D + 2 * I) + 4 * I * D + 4 * Math.max(2 * R * I, R * frag.N);
  }
}

/** Tilings in order of preference: more subgroups share each loaded tile; then the longer inner tile. */
const CANDIDATES: [number, number][] = [[4, 32], [4, 16], [2, 32], [2, 16], [1, 16]];

/**
 * The tiling of `kernel` for head_dim d on this fragment shape within `maxBytes` of workgroup memory, or
 * null (the fragment does not divide the tiles, or nothing fits): the caller then runs the f32 kernels.
 */
export function chooseAttentionTiles(kernel: AttentionKernel, d: number, frag: MatrixShape, maxBytes: number): AttentionTiles | null {
  if (SUBGROUP_ROWS % frag.M !== 0 || 16 % frag.N !== 0 || 16 % frag.K !== 0) return null;
  const D = Math.ceil(d / CHUNK) * CHUNK;
  for (const [subgroups, inner] of CANDIDATES) {
    const t: AttentionTiles = { kernel, subgroups, inner, D };
    if (tileBytes(t, frag) <= maxBytes) return t;
  }
  return null;
}

/** The GEMM variant whose primitives (and lane layout) the attention kernels are generated with. */
export function attentionVariant(backend: 'subgroup-matrix' | 'subgroup-matrix-emulated', frag: MatrixShape, subgroupSize: number): GemmVariant {
  return { backend, ...defaultTiling(backend, 64), frag, subgroupSize };
}

/** Label suffix, e.g. `@subgroup-matrix-emulated/16x16x16/d64/sg4x32`. */
export function tilesLabel(v: GemmVariant, t: AttentionTiles): string {
  return `@${v.backend}/${v.frag.M}x${v.frag.N}x${v.frag.K}/d${t.D}/sg${t.subgroups}x${t.inner}`;
}

/**
 * WGSL: writes the f16 pair `pair` (an index of pairs) of `tile`. The hardware primitive expands it inside
 * `2u * pair`, so the index goes in parentheses (an unparenthesized `a + e` would land at 2a + e).
 */
export function storePair(p: SubgroupMatrixPrimitives, tile: 'As' | 'Bs', pair: string, lo: string, hi: string): string {
  return p.storePair(tile, `(${pair})`, lo, hi);
}

/**
 * WGSL: fills a rows × cols f16 block of `tile` (row-major, row stride cols) from element `base`, every
 * invocation helping, in pairs along the row; `value(r, c)` is the f32 element (0 outside the data).
 */
export function fillTile(p: SubgroupMatrixPrimitives, tile: 'As' | 'Bs', base: number, rows: number, cols: number, value: (r: string, c: string) => string): string {
  if (base % 2 !== 0 || cols % 2 !== 0) throw new Error(`attention tiles: a block at ${base} of ${cols} columns is not whole f16 pairs`);
  return `for (var e = li; e < ${(rows * cols) / 2}u; e += THREADS) {
      let r = e / ${cols / 2}u;
      let c = 2u * (e % ${cols / 2}u);
      ${storePair(p, tile, `${base / 2}u + e`, value('r', 'c'), value('r', 'c + 1u'))}
    }`;
}

/**
 * WGSL: acc (a fresh or running result) += the left block rows × the right block columns, contracting
 * over `depth` — left row-major at `left` + row·`ls`, right column-major at `right` + column·`rs`.
 */
export function mmaLoop(p: SubgroupMatrixPrimitives, frag: MatrixShape, acc: string, left: string, ls: number, right: string, rs: number, depth: number): string {
  return `for (var kk = 0u; kk < ${depth}u; kk += ${frag.K}u) {
          ${acc} = ${p.mma(p.loadLeft(`${left} + kk`, `${ls}u`), p.loadRight(`${right} + kk`, `${rs}u`), acc)};
        }`;
}

/** The first key a query at position p (nk = p + 1 keys up to itself) sees. */
export const FIRST_KEY_WGSL = /* wgsl */ `
fn firstKey(nk: u32) -> u32 {
  if (params.window > 0u && nk > params.window) { return nk - params.window; }
  return 0u;
}`;
