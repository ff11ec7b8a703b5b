// CPU reference for shaders/rope.wgsl: HF apply_rotary_pos_emb with rotate_half, f64.
import type { Arr } from './matmul';

/**
 * Rotates x [rows, heads*d]; row r at position pos0 + r % T; invFreq [rotaryDim/2]. sign -1 undoes it (backward).
 * Only the first rotaryDim dims of a head turn (partial RoPE: apply_rotary_pos_emb's q_rot / q_pass).
 */
export function refRope(x: Arr, invFreq: Arr, rows: number, T: number, heads: number, d: number, pos0 = 0, sign = 1, rotaryDim = d): Float64Array {
  const out = Float64Array.from(x);
  const half = rotaryDim / 2;
  for (let r = 0; r < rows; r++) {
    const pos = pos0 + (r % T);
    for (let h = 0; h < heads; h++) {
      const base = r * heads * d + h * d;
      for (let i = 0; i < half; i++) {
        const th = pos * invFreq[i];
        const c = Math.cos(th);
        const s = sign * Math.sin(th);
        const a = x[base + i];
        const b = x[base + i + half];
        out[base + i] = a * c - b * s;
        out[base + i + half] = b * c + a * s;
      }
    }
  }
  return out;
}
