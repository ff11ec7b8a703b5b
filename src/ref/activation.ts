// CPU references for shaders/glu_{fwd,bwd}.wgsl (SwiGLU / GeGLU), shaders/logit_softcap.wgsl and
// shaders/dropout.wgsl (same hash, bit for bit).
import type { Arr } from './matmul';
import type { GatedActivation } from '../formats/architectures';

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** act(x) and act'(x): silu, or torch's gelu(approximate="tanh"). */
function activation(act: GatedActivation, x: number): { value: number; slope: number } {
  if (act === 'gelu_tanh') {
    const t = Math.tanh(GELU_K * (x + GELU_C * x ** 3));
    return { value: 0.5 * x * (1 + t), slope: 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * x * x) };
  }
  const s = 1 / (1 + Math.exp(-x));
  return { value: x * s, slope: s * (1 + x * (1 - s)) };
}

export function refGluFwd(act: GatedActivation, g: Arr, u: Arr): Float64Array {
  return Float64Array.from(g, (gv, i) => activation(act, gv).value * u[i]);
}

export function refGluBwd(act: GatedActivation, da: Arr, g: Arr, u: Arr): { dg: Float64Array; du: Float64Array } {
  const n = g.length;
  const dg = new Float64Array(n);
  const du = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const { value, slope } = activation(act, g[i]);
    dg[i] = da[i] * u[i] * slope;
    du[i] = da[i] * value;
  }
  return { dg, du };
}

export function refLogitSoftcap(x: Arr, cap: number): Float64Array {
  return Float64Array.from(x, (v) => cap * Math.tanh(v / cap));
}

/** PCG hash as in shaders/dropout.wgsl (u32 arithmetic). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Whether element i survives dropout with probability p for (seed, stream). */
export function dropoutKeep(seed: number, stream: number, i: number, p: number): boolean {
  const h = pcgHash((i ^ pcgHash((seed ^ pcgHash(stream)) >>> 0)) >>> 0);
  return (h >>> 8) * (1 / 16777216) >= Math.fround(p); // the shader compares with p as f32
}

export function refDropout(x: Arr, seed: number, stream: number, p: number): Float64Array {
  return Float64Array.from(x, (v, i) => (dropoutKeep(seed, stream, i, p) ? v / (1 - p) : 0));
}
