// The changes that make a run fit, as settings a button applies in one click: for a run over the GPU's
// memory, or with a buffer over a WebGPU limit, the levers that shrink what is too big, in the order
// people reach for them (gradient checkpointing, a smaller batch or length, fewer targets, NF4, a
// lower rank). Each says what it changes to, so the click holds no surprise.
import type { RunSettings } from './run-settings';
import type { FitCheck, MemoryEstimate } from './memory-estimate';
import { ATTENTION_MODULES } from './lora';
import type { LoraModule } from './lora';

export type MemoryFixKind = 'checkpointing' | 'batch' | 'length' | 'targets' | 'nf4' | 'rank';

export interface MemoryFix {
  readonly kind: MemoryFixKind;
  /** The button's words: what it changes, from what to what. */
  readonly label: string;
  readonly patch: Partial<RunSettings>;
}

const MIN_LENGTH = 8; // run-settings.ts validates maxLength ≥ 8
/** The original LoRA paper's targets: the fewest that still adapt attention. */
const QV: LoraModule[] = ['q_proj', 'v_proj'];

function fewerTargets(target: readonly LoraModule[]): LoraModule[] | null {
  if (target.some((m) => !ATTENTION_MODULES.includes(m))) return [...ATTENTION_MODULES];
  if (target.length > QV.length) return [...QV];
  return null;
}

/** Every lever that applies to these settings, in order. */
function allFixes(s: RunSettings, e: MemoryEstimate): MemoryFix[] {
  const out: MemoryFix[] = [];
  if (!s.gradientCheckpointing) out.push({ kind: 'checkpointing', label: 'Turn on gradient checkpointing', patch: { gradientCheckpointing: true } });
  if (s.batchSize > 1) {
    const batchSize = Math.max(1, Math.floor(s.batchSize / 2));
    const gradAccum = s.gradAccum * Math.max(1, Math.round(s.batchSize / batchSize));
    out.push({ kind: 'batch', label: `Batch ${s.batchSize} → ${batchSize} (accumulation ${s.gradAccum} → ${gradAccum}, same effective batch)`, patch: { batchSize, gradAccum } });
  }
  // The estimate's length is the longest example, at most maxLength: halving that is what shrinks memory.
  const length = e.settings.seqLen;
  if (length > MIN_LENGTH) {
    const maxLength = Math.max(MIN_LENGTH, Math.floor(length / 2));
    out.push({ kind: 'length', label: `Max length ${Math.min(s.maxLength, length)} → ${maxLength} tokens (longer examples are truncated)`, patch: { maxLength } });
  }
  const target = fewerTargets(s.target);
  if (target) out.push({ kind: 'targets', label: `Target ${target.join(', ')} only (now ${s.target.length} modules)`, patch: { target } });
  if (s.quant !== 'nf4') out.push({ kind: 'nf4', label: `Base in NF4, 4-bit (QLoRA; now ${s.quant})`, patch: { quant: 'nf4' } });
  if (s.loraR > 4) {
    const loraR = Math.max(4, Math.floor(s.loraR / 2));
    out.push({ kind: 'rank', label: `Rank r ${s.loraR} → ${loraR}`, patch: { loraR } });
  }
  return out;
}

/** Which levers shrink the one buffer that is over a WebGPU limit (the total is not the problem). */
function leversForBuffer(e: MemoryEstimate): MemoryFixKind[] {
  const label = e.largestBuffer.label;
  if (label.includes('[M,') || label.includes('logits')) return ['batch', 'length']; // a logits chunk has at most M rows
  if (label.startsWith('LoRA') || label.startsWith('AdamW')) return ['rank', 'targets'];
  if (label.includes('(f16)') || label.includes('(f32)')) return ['nf4'];
  return [];
}

/** The one-click fixes for a run that does not fit; none for one that does. */
export function memoryFixes(settings: RunSettings, estimate: MemoryEstimate, fit: FitCheck): MemoryFix[] {
  if (fit.ok) return [];
  const fixes = allFixes(settings, estimate);
  if (fit.code === 'OUT_OF_MEMORY') return fixes;
  const levers = leversForBuffer(estimate);
  return fixes.filter((f) => levers.includes(f.kind));
}
