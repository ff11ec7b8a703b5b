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
  /** Dense products (all transposes) and the grouped LoRA products. */
  dense: Tolerance;
  /** Frozen-weight linears forward and backward (any weight format, dequantized reference) and the fused LoRA linears. */
  linear: Tolerance;
  /**
   * true: the golden training run (logits, gradients, 3 AdamW steps, adapter) at test/golden.test.ts's
   * tolerances; false: the golden first-step loss at `goldenLossRtol` (the f16 path rounds the operands).
   */
  goldenTraining: boolean;
  goldenLossRtol: number;
  /** Timed by the GPU script when it passes (false: checked only). */
  timed: boolean;
}

// test/matmul.test.ts's tolerances: exact f32 products, f64 reference.
const EXACT = { dense: { atol: 1e-5, rtol: 1e-5 }, linear: { atol: 2e-5, rtol: 1e-5 }, goldenTraining: true, goldenLossRtol: 1e-5 };
// test/matmul-f16.test.ts's tolerances: operands rounded to f16 (~1e-3 relative), f32 accumulation.
const F16 = { dense: { atol: 2e-3, rtol: 4e-3 }, linear: { atol: 2e-3, rtol: 4e-3 }, goldenTraining: false, goldenLossRtol: 1e-3 };

const backend = (name: GemmBackend, tolerances: typeof EXACT, timed = true): MatmulBackend => ({
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
  // Where tensor cores exist they supersede the scalar f16 walk: checked, but not worth the 8-minute run's time.
  if (has('shader-f16')) list.push(backend('scalar-f16', F16, !tensorCores));
  // createGpuContext refuses it (ADAPTER_LIMITS) when no f16 configuration is listed: a failed check, said so.
  if (tensorCores) list.push(backend('subgroup-matrix', F16));
  list.push(backend('subgroup-matrix-emulated', F16, false));
  return list;
}
