// The generation path's inputs for the attention tests: K and V of a T-token sequence copied into a
// cache of `cap` rows per sequence from `first` (the first key any query sees) on, every other row NaN
// so a kernel that reads one fails; and the queries from position pos0 on.
export interface CacheDims {
  readonly B: number;
  readonly T: number;
  readonly H: number;
  readonly Hkv: number;
  readonly d: number;
}

export function kvCacheInputs(q: Float32Array, k: Float32Array, v: Float32Array, dims: CacheDims, cap: number, pos0: number, first: number) {
  const { B, T, H, Hkv, d } = dims;
  const Tq = T - pos0;
  const kc = new Float32Array(B * cap * Hkv * d).fill(NaN);
  const vc = new Float32Array(B * cap * Hkv * d).fill(NaN);
  const qTail = new Float32Array(B * Tq * H * d);
  const W = Hkv * d;
  for (let b = 0; b < B; b++) {
    kc.set(k.subarray((b * T + first) * W, (b + 1) * T * W), (b * cap + first) * W);
    vc.set(v.subarray((b * T + first) * W, (b + 1) * T * W), (b * cap + first) * W);
    qTail.set(q.subarray((b * T + pos0) * H * d, (b + 1) * T * H * d), b * Tq * H * d);
  }
  return { kc, vc, qTail };
}
