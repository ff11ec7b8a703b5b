// A small seeded PRNG (splitmix32, the widely used JS version by bryc) so that anything random in
// a run — the per-epoch shuffle, a dropout mask, a LoRA init — is reproducible from one integer
// seed on every platform, and a resumed run sees exactly the sequence it would have seen.
// Math.random cannot be seeded.

export interface SeededRng {
  /** Next value as an unsigned 32-bit integer. */
  nextUint32(): number;
  /** Next value in [0, 1), with 32 bits of randomness. */
  nextFloat(): number;
  /** Next integer in [0, n), exactly uniform (rejection sampling), for n in [1, 2^32]. */
  nextInt(n: number): number;
}

const TWO_POW_32 = 2 ** 32;

/** splitmix32: a 32-bit state advanced by the golden-ratio increment, then a strong mixer. */
export function createRng(seed: number): SeededRng {
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix32(state);
  };
  return {
    nextUint32,
    nextFloat: () => nextUint32() / TWO_POW_32,
    nextInt(n: number): number {
      if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new RangeError(`nextInt: n must be an integer in [1, 2^32], got ${n}`);
      // Reject the top sliver of the 32-bit range that would make the low values more likely.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (;;) {
        const x = nextUint32();
        if (x < limit) return x % n;
      }
    },
  };
}

/** splitmix32's output function (the Hash Prospector constants): a bijection on uint32 with good avalanche. */
export function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/**
 * A seed for an independent stream derived from a base seed and a stream number (e.g. the epoch),
 * so a stream can be recreated from (seed, stream) alone without replaying the ones before it.
 */
export function deriveSeed(seed: number, stream: number): number {
  return mix32((mix32(seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b9)) >>> 0);
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function shuffledIndices(n: number, rng: SeededRng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
