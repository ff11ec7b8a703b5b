// The matrix-product back ends a device can run, as one list that the device check (device-check.ts)
// and the GPU script (scripts/gpu-bench.sh, through the file the check writes) iterate: each with the
// context options that select it, the bench flags that time it, and the tolerances its products are
// held to against the f64 references.
//
// One entry per GpuContext.gemmBackend (src/gpu/gemm/config.ts): the option that forces it, the bench
// flags that time it, its tolerances, and in matmulBackends() the adapter features that gate it. The
// check runs every product on each; the script times those that passed and are worth timing (not the
// emulation, which exists to test the tensor-core walk's indexing, not to be fast).
import type { GpuContext, GpuContextOptions } from '../gpu/context';
import type { GemmBackend } from '../gpu/gemm/config';
import type { ProductNumerics } from './product-bound';

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface MatmulBackend {
  /** Short name, as the check lines, the bench lines and the results file carry it. */
  name: string;
  options: GpuContextOptions;
  /** Whether `ctx` (built with `options`) runs its products on this back end. */
  active(ctx: GpuContext): boolean;
  /** `npm run bench` / .gpu/bench.js flags that select it. */
  benchFlags: string[];
  /** How its products round: every product check is held to product-bound.ts's K-dependent bound on these operands. */
  numerics: ProductNumerics;
  /**
   * true: the golden training run (logits, gradients, 3 AdamW steps, adapter) at test/golden.test.ts's
   * tolerances; false: the golden first-step loss at `goldenLossRtol` (the f16 path rounds the operands).
   */
  goldenTraining: boolean;
  goldenLossRtol: number;
  /** Timed by the GPU script when it passes (false: checked only). */
  timed: boolean;
}

// f32 operands and products: the golden training run at test/golden.test.ts's tolerances.
const EXACT = { numerics: { operands: 'f32', f16Products: false }, goldenTraining: true, goldenLossRtol: 1e-5 } as const;
// f16 operands (~1e-3 relative, test/matmul-f16.test.ts's golden loss tolerance), f32 accumulation; products
// exact in f32 (a product of two f16 has 22 significant bits) on tensor cores, rounded to f16 by scalar-f16.
const F16 = { numerics: { operands: 'f16', f16Products: false }, goldenTraining: false, goldenLossRtol: 1e-3 } as const;
const F16_PRODUCTS = { ...F16, numerics: { operands: 'f16', f16Products: true } } as const;

type Numerics = typeof EXACT | typeof F16 | typeof F16_PRODUCTS;

const backend = (name: GemmBackend, tolerances: Numerics, timed = true): MatmulBackend => ({
  name,
  options: { gemm: name },
  active: (ctx) => ctx.gemmBackend === name,
  benchFlags: ['--gemm', name],
  ...tolerances,
  timed,
});

/** The back ends this adapter can run, the exact one first (the one the golden training run is held to). */
export function matmulBackends(adapter: GPUAdapter): MatmulBackend[] {
  const has = (f: string) => adapter.features.has(f as GPUFeatureName);
  const tensorCores = has('shader-f16') && has('subgroups') && has('chromium-experimental-subgroup-matrix');
  const list = [backend('scalar', EXACT)];
  // Timed even where tensor cores exist: it is what a default browser runs (subgroup matrices are behind a flag).
  if (has('shader-f16')) list.push(backend('scalar-f16', F16_PRODUCTS));
  // createGpuContext refuses it (ADAPTER_LIMITS) when no f16 configuration is listed: a failed check, said so.
  if (tensorCores) list.push(backend('subgroup-matrix', F16));
  list.push(backend('subgroup-matrix-emulated', F16, false));
  return list;
}
