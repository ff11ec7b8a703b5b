// CPU reference for the generated matrix products (src/gpu/gemm/) (and the linear fwd/bwd on dequantized weights), f64 accumulation.
// The oracle for test/matmul.test.ts and test/nf4-matmul.test.ts.

export type Arr = ArrayLike<number>;

export interface RefMatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  C?: Arr; // previous C when beta != 0
  bias?: Arr;
}

/** C[M,N] = alpha · op(A) · op(B) (+ bias) (+ beta · C); A [M,K] or [K,M] (transA), B [K,N] or [N,K] (transB). */
export function refMatmul(A: Arr, B: Arr, M: number, N: number, K: number, o: RefMatmulOptions = {}): Float64Array {
  const out = new Float64Array(M * N);
  const alpha = o.alpha ?? 1;
  const beta = o.beta ?? 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = o.transA ? A[k * M + m] : A[m * K + k];
        const b = o.transB ? B[n * K + k] : B[k * N + n];
        s += a * b;
      }
      let r = alpha * s;
      if (o.bias) r += o.bias[n];
      if (beta !== 0 && o.C) r += beta * o.C[m * N + n];
      out[m * N + n] = r;
    }
  }
  return out;
}

/** y = x · Wᵀ (+ bias), W [out, in]. */
export function refLinearFwd(x: Arr, W: Arr, M: number, out: number, inF: number, bias?: Arr): Float64Array {
  return refMatmul(x, W, M, out, inF, { transB: true, bias });
}

/** dx = dy · W, W [out, in]. */
export function refLinearBwd(dy: Arr, W: Arr, M: number, out: number, inF: number): Float64Array {
  return refMatmul(dy, W, M, inF, out);
}
