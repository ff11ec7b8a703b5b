// The device check's verdict on one matrix product (device-check.ts): the reference is computed on the
// operands as the back end rounds them (f16 as its tiles load, or f32 as given), and each element is held
// to a forward-error bound that grows with K instead of one tolerance for every shape.
//
// Bound (Higham, Accuracy and Stability of Numerical Algorithms, §3.1): a sum of K products accumulated
// in f32 in any order has |err| ≤ γ_K·Σ|a||b|, γ_K ≈ K·u, u = 2⁻²⁴. Per element of
// C = Σ_terms alpha·op(A)·op(B) + addend:
//   |got − want| ≤ c·(K + 2)·u·mag                         f32 accumulation, + alpha, bias, beta·C
//                + [f16 products] (u_h·mag + K·|alpha|·2⁻²⁵)  scalar-f16 rounds each product to f16
//                + [f16 operands] |alpha|·2⁻¹⁴·flushable     a driver may flush f16 subnormal operands
// mag = Σ|alpha|·|op(A)|·|op(B)| + |addend| (an f64 product of the absolute values), K the summed length
// of all terms, u_h = 2⁻¹¹, and flushable = |alpha|·Σ_k over operands below 2⁻¹⁴ of |that operand|·|the other|
// (exactly what flushing them to zero would change). c = 2: NVIDIA's tensor cores
// accumulate with truncation, not rounding to nearest (up to one ulp, 2u, per addition: Fasi et al.,
// "Numerical behavior of NVIDIA tensor cores", 2021); on an IEEE adder it leaves one u of slack per
// term for an NF4 decode that rounds an ulp differently from src/quant/nf4.ts.
// Against f64 on unrounded operands at K = 200 an f16 back end misses a fixed rtol by a hair (the
// H200's 12 of 209); against the rounded operands the true error is ~1e-6 while an indexing bug (a
// wrong row stride, a column off by one, a dropped K step) is an O(|a||b|) error, far above this bound.
import type { Arr } from '../ref/matmul';
import { f16ToF32, f32ToF16Bits } from '../formats/half';

/** How a back end's products round (backends.ts). */
export interface ProductNumerics {
  /** What the operands are rounded to as the kernel loads them. */
  operands: 'f32' | 'f16';
  /** Each a·b rounded to f16 before the f32 sum (scalar-f16's walk multiplies in f16). */
  f16Products: boolean;
}

/** One alpha·op(A)·op(B) of a product; a fused product (LoRA) is several terms summed. */
export interface ProductTerm {
  A: Arr;
  B: Arr;
  K: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
}

/** C[M, N] = Σ terms + addend (bias broadcast over rows plus beta·C₀, already summed in f64). */
export interface ProductSpec {
  M: number;
  N: number;
  terms: ProductTerm[];
  addend?: Arr;
}

export interface ProductReference {
  want: Float64Array;
  /** Per-element bound on |got − want|. */
  bound: Float64Array;
}

const U32 = 2 ** -24;
const U16 = 2 ** -11;
const F16_MIN_NORMAL = 2 ** -14;
const ACCUMULATION_ULPS = 2; // the c above: truncating tensor-core adders

const f16round = (x: Arr) => Float32Array.from(x, (v) => f16ToF32(f32ToF16Bits(v)));

/** The operand as the back end sees it. */
export function roundOperand(x: Arr, n: ProductNumerics): Arr {
  return n.operands === 'f16' ? f16round(x) : x;
}

/** bias[N] broadcast over M rows plus beta·C₀[M, N], the non-product part of a product's output. */
export function addend(M: number, N: number, o: { bias?: Arr; beta?: number; C?: Arr }): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < N; j++) out[m * N + j] = (o.bias ? o.bias[j] : 0) + (o.beta && o.C ? o.beta * o.C[m * N + j] : 0);
  }
  return out;
}

/**
 * Adds one term to want (Σ a·b), mag (Σ |a||b|) and flushable (Σ |a||b| over pairs with an f16
 * subnormal operand), in one pass over K: src/ref/matmul.ts's loop with two more sums.
 */
function accumulate(t: ProductTerm, A: Arr, B: Arr, M: number, N: number, f16: boolean, want: Float64Array, mag: Float64Array, flushable: Float64Array): void {
  const alpha = t.alpha ?? 1;
  const absAlpha = Math.abs(alpha);
  const tiny = f16 ? F16_MIN_NORMAL : 0; // f32 operands: nothing is flushed
  const { K, transA, transB } = t;
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      let sa = 0;
      let sf = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * M + m] : A[m * K + k];
        const b = transB ? B[j * K + k] : B[k * N + j];
        const ab = a * b;
        s += ab;
        const abs = ab < 0 ? -ab : ab;
        sa += abs;
        if ((a !== 0 && a < tiny && a > -tiny) || (b !== 0 && b < tiny && b > -tiny)) sf += abs;
      }
      want[m * N + j] += alpha * s;
      mag[m * N + j] += absAlpha * sa;
      flushable[m * N + j] += absAlpha * sf;
    }
  }
}

/** The f64 reference on rounded operands and the per-element bound of the header. */
export function productReference(spec: ProductSpec, n: ProductNumerics): ProductReference {
  const { M, N } = spec;
  const want = new Float64Array(M * N);
  const mag = new Float64Array(M * N);
  const flushable = new Float64Array(M * N);
  let K = 0;
  let subnormalUnits = 0; // Σ K·|alpha|·2⁻²⁵: f16 products that round in the subnormal range
  for (const t of spec.terms) {
    accumulate(t, roundOperand(t.A, n), roundOperand(t.B, n), M, N, n.operands === 'f16', want, mag, flushable);
    K += t.K;
    subnormalUnits += t.K * Math.abs(t.alpha ?? 1) * 2 ** -25;
  }
  if (spec.addend) {
    for (let i = 0; i < want.length; i++) {
      want[i] += spec.addend[i];
      mag[i] += Math.abs(spec.addend[i]);
    }
  }
  const rel = ACCUMULATION_ULPS * (K + 2) * U32 + (n.f16Products ? U16 : 0);
  const bound = new Float64Array(M * N);
  for (let i = 0; i < bound.length; i++) bound[i] = rel * mag[i] + (n.f16Products ? subnormalUnits : 0) + flushable[i];
  return { want, bound };
}

export interface ProductVerdict {
  ok: boolean;
  worstAbs: number;
  /** max |got − want| / bound: ≤ 1 passes; how close to the bound the back end came. */
  worstOverBound: number;
  bad: number;
  first?: string;
}

/** Every element within its bound (NaN fails); the worst error and the first element outside. */
export function checkProduct(got: Arr, ref: ProductReference): ProductVerdict {
  if (got.length !== ref.want.length) return { ok: false, worstAbs: Infinity, worstOverBound: Infinity, bad: got.length, first: `length ${got.length}, expected ${ref.want.length}` };
  let [worstAbs, worstOverBound, bad] = [0, 0, 0];
  let first: string | undefined;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - ref.want[i]);
    const e = Number.isNaN(err) ? Infinity : err;
    worstAbs = Math.max(worstAbs, e);
    worstOverBound = Math.max(worstOverBound, ref.bound[i] > 0 ? e / ref.bound[i] : e > 0 ? Infinity : 0);
    if (!(err <= ref.bound[i]) && bad++ === 0) first = `[${i}] got ${got[i]} expected ${ref.want[i]} (bound ${ref.bound[i].toExponential(2)})`;
  }
  return { ok: bad === 0, worstAbs, worstOverBound, bad, first };
}
