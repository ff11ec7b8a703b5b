// Numbers behind the Learn view: how big the adapter's update is per layer and module
// (‖scale·B·A‖_F, computed from r×r Gram matrices so it stays cheap for large models), and one NF4
// block of a weight against the 16 levels with its quantization error.
import type { LoraLayout } from '../engine/lora';
import { slotTensors } from '../engine/peft-adapter';
import type { HostWeight } from '../gpu/weight';
import { NF4_LEVELS } from '../quant/code-tables';
import { blockAbsmax } from '../quant/nf4';
import { f16ToF32, bf16ToF32 } from '../formats/half';

/** ‖scale · B·A‖_F² = scale² · Σ (BᵀB) ∘ (A·Aᵀ), with BᵀB and A·Aᵀ both r×r. */
export function adapterNorms(layout: LoraLayout, params: Float32Array): { layer: number; module: string; norm: number }[] {
  const r = layout.settings.r;
  return layout.slots.map((slot) => {
    const { A, B } = slotTensors(layout, params, slot);
    let s = 0;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) {
        let btb = 0;
        for (let o = 0; o < slot.outF; o++) btb += B[o * r + i] * B[o * r + j];
        let aat = 0;
        for (let k = 0; k < slot.inF; k++) aat += A[i * slot.inF + k] * A[j * slot.inF + k];
        s += btb * aat;
      }
    }
    return { layer: slot.layer, module: slot.module, norm: layout.scale * Math.sqrt(Math.max(0, s)) };
  });
}

/**
 * Block `block` (64 values) of a quantized weight: the dequantized values, the NF4 levels scaled by the
 * block's absmax, and the RMS error against `original` floats when they are known.
 */
export function nf4Block(w: HostWeight, block: number, original: Float32Array | null) {
  const levels = Array.from(NF4_LEVELS);
  if (w.format !== 'nf4') {
    const get = (i: number) => (w.format === 'f32' ? w.data[i] : w.format === 'f16' ? f16ToF32(w.data[i]) : bf16ToF32(w.data[i]));
    const start = block * 64;
    const values = Array.from({ length: Math.min(64, w.rows * w.cols - start) }, (_, i) => get(start + i));
    const absmax = Math.max(...values.map(Math.abs));
    return { values, dequant: values, levels: levels.map((l) => l * absmax), absmax, error: 0 };
  }
  const q = w.data;
  const bs = q.blocksize;
  const absmax = blockAbsmax(q.absmax)[block];
  const start = block * bs;
  const n = Math.min(bs, w.rows * w.cols - start);
  const dequant = Array.from({ length: n }, (_, i) => {
    const e = start + i;
    const byte = q.packed[e >> 1];
    return NF4_LEVELS[e & 1 ? byte & 15 : byte >> 4] * absmax;
  });
  const values = original ? Array.from(original.subarray(start, start + n)) : dequant;
  const error = Math.sqrt(values.reduce((s, v, i) => s + (v - dequant[i]) ** 2, 0) / n);
  return { values, dequant, levels: levels.map((l) => l * absmax), absmax, error };
}
