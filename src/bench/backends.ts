// The matrix-product back ends a device can run, as one list that the device check (device-check.ts)
// and the GPU script (scripts/gpu-bench.sh, through the file the check writes) iterate: each with the
// context options that select it, the bench flags that time it, and the tolerances its products are
// held to against the f64 references.
//
// Adding a back end is one entry here: its GpuContextOptions (e.g. a future `{ gemmBackend: 'subgroup-matrix' }`),
// `active` saying whether a context built with them really runs it, the bench flags that select it
// (e.g. `['--gemm', 'subgroup-matrix']`), its tolerances, and the adapter feature that gates it in
// matmulBackends(). The check runs every product on it, and the script times it only if it passed.
import type { GpuContext, GpuContextOptions } from '../gpu/context';

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
}

// test/matmul.test.ts's tolerances: exact f32 products, f64 reference.
const F32: MatmulBackend = {
  name: 'f32',
  options: { matmulF16: false },
  active: (ctx) => !ctx.matmulF16,
  benchFlags: [],
  dense: { atol: 1e-5, rtol: 1e-5 },
  linear: { atol: 2e-5, rtol: 1e-5 },
  goldenTraining: true,
  goldenLossRtol: 1e-5,
};

// test/matmul-f16.test.ts's tolerances: operands and products in f16 (~1e-3 relative), f32 accumulation.
const F16: MatmulBackend = {
  name: 'f16',
  options: { matmulF16: true },
  active: (ctx) => ctx.matmulF16,
  benchFlags: ['--matmul-f16'],
  dense: { atol: 2e-3, rtol: 4e-3 },
  linear: { atol: 2e-3, rtol: 4e-3 },
  goldenTraining: false,
  goldenLossRtol: 1e-3,
};

/** The back ends this adapter can run, the exact f32 one first (the one the golden training run is held to). */
export function matmulBackends(adapter: GPUAdapter): MatmulBackend[] {
  const list = [F32];
  if (adapter.features.has('shader-f16')) list.push(F16);
  return list;
}

/** The back end a context runs its products on, by name (for the bench lines). */
export function backendName(ctx: GpuContext): string {
  return ctx.matmulF16 ? F16.name : F32.name;
}
