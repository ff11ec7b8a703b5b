// Small array helpers the kernel checks share (test/lora-fused.test.ts, src/bench/device-check.ts): a
// column block of a row-major matrix (one module's LoRA h inside a group's [M, width·r]) and an
// elementwise sum in f64 (a fused product's expected value is the sum of its parts' references).

/** Columns [col, col + r) of a row-major [M, ld] matrix. */
export function columns(x: Float32Array, M: number, ld: number, col: number, r: number): Float32Array {
  const out = new Float32Array(M * r);
  for (let m = 0; m < M; m++) for (let j = 0; j < r; j++) out[m * r + j] = x[m * ld + col + j];
  return out;
}

/** Elementwise sum of equal-length arrays, in f64. */
export function add(...xs: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(xs[0].length);
  for (const x of xs) for (let i = 0; i < out.length; i++) out[i] += x[i];
  return out;
}
