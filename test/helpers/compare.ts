// Tensor comparison that says which tensor, where, and by how much: the worst index and the first
// mismatches, so a failing kernel test points at the bug.
import { expect } from 'vitest';

export interface Tolerance {
  atol?: number;
  rtol?: number;
  /** A further allowance per element (an error bound that varies along the tensor), added to the others. */
  bound?: ArrayLike<number>;
}

export function mismatchReport(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): string | null {
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  if (actual.length !== expected.length) return `${name}: length ${actual.length}, expected ${expected.length}`;
  let worst = -1;
  let worstExcess = 0;
  const first: string[] = [];
  let bad = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    const allowed = atol + rtol * Math.abs(e) + (tol.bound ? tol.bound[i] : 0);
    if (!(err <= allowed)) {
      bad++;
      const excess = Number.isFinite(err) ? err - allowed : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
      if (first.length < 5) first.push(`[${i}] got ${a} expected ${e}`);
    }
  }
  if (bad === 0) return null;
  const extra = tol.bound ? ` + bound[${worst}]=${tol.bound[worst]}` : '';
  return `${name}: ${bad}/${actual.length} outside atol=${atol} rtol=${rtol}${extra}; worst [${worst}] got ${actual[worst]} expected ${expected[worst]}; first: ${first.join(', ')}`;
}

export function expectClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): void {
  const report = mismatchReport(name, actual, expected, tol);
  expect(report, report ?? '').toBeNull();
}

export function l2(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** ‖a - b‖ / ‖b‖ */
export function relL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

export function expectRelL2(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length, `${name}: length`).toBe(expected.length);
  const r = relL2(actual, expected);
  expect(r, `${name}: relative L2 error ${r} > ${tol}`).toBeLessThanOrEqual(tol);
}

/** Deterministic uniform values in [lo, hi) rounded to f32, for kernel inputs (shared with the device check). */
export { randomF32 } from '../../src/ref/random';
