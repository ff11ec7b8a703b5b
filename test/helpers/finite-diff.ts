// Central differences of a scalar function, for checking the f64 references' analytic gradients.

/** ∂f/∂x_i ≈ (f(x + eps·e_i) − f(x − eps·e_i)) / (2·eps) for every i. */
export function centralDifferences(f: (x: Float64Array) => number, x: ArrayLike<number>, eps = 1e-6): Float64Array {
  const base = Float64Array.from(x);
  return base.map((v, i) => {
    const p = Float64Array.from(base);
    const m = Float64Array.from(base);
    p[i] = v + eps;
    m[i] = v - eps;
    return (f(p) - f(m)) / (2 * eps);
  });
}
