// Deterministic kernel inputs for the checks against the references (test/ and src/bench/device-check.ts):
// the same seed gives the same values everywhere, so a failing case can be rerun by its name.

/** Deterministic uniform values in [lo, hi) rounded to f32 (a 32-bit mix of a Weyl sequence). */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}
