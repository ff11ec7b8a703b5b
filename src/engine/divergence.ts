// Telling a run that learns from one that has blown up, so a diverged run stops with an error that
// names the step instead of saving garbage and exiting 0 (`--lr 1e6` gave losses stuck at ln V,
// adapter weights of 2.6e6 and an empty generation). Three signals, from cheap to thorough:
// the loss and the gradient norm of every step (AdamW refuses a non-finite one on the GPU; the Trainer
// raises the error when that step's values arrive, a step late), and the adapter's parameters whenever
// the host reads them anyway (checkpoints, saves).
import { QloraError } from '../errors';

/**
 * Largest |parameter| a working adapter has. LoRA starts at A ~ U(±1/√in), B = 0, and AdamW moves
 * a weight by about lr per step: 2e-4 × 10k steps is 2. At 1e4, B·A alone is ~1e8 × the input, which
 * swamps the frozen model whatever it learned.
 */
export const MAX_ADAPTER_WEIGHT = 1e4;

function diverged(step: number, what: string, lr: number | undefined): QloraError {
  const lower = lr !== undefined ? ` (it was ${lr})` : '';
  return new QloraError(
    'NUMERIC',
    `Training diverged at step ${step}: ${what}. Lower the learning rate${lower} or the max grad norm and train again from the last good checkpoint.`,
    { step },
  );
}

/** ‖g‖ of a step that was applied: NaN/Inf means the update itself was garbage. */
export function checkGradNorm(step: number, gradNorm: number, lr?: number): void {
  if (!Number.isFinite(gradNorm)) throw diverged(step, `the gradient norm is ${gradNorm}`, lr);
}

/** The adapter after `step`: every value finite and within MAX_ADAPTER_WEIGHT. */
export function checkAdapterParams(step: number, params: Float32Array, lr?: number): void {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < params.length; i++) {
    const a = Math.abs(params[i]);
    if (!(a <= worst)) {
      worst = a;
      at = i;
      if (Number.isNaN(a)) break;
    }
  }
  if (at >= 0 && !(worst <= MAX_ADAPTER_WEIGHT)) {
    throw diverged(step, `adapter parameter ${at} is ${params[at]} (a working adapter stays within ±${MAX_ADAPTER_WEIGHT})`, lr);
  }
}
