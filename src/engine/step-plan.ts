// How many optimizer steps a run takes, and which micro-batches each one accumulates, as Hugging Face's
// Trainer does (transformers ≥ 4.50, `set_initial_training_values` and the epoch loop): an epoch of
// ⌈n / batch⌉ micro-batches is cut into groups of `gradAccum`, the last group of an epoch holding what
// is left (so an epoch never lends micro-batches to the next), and an epoch-based run takes
// ⌈epochs · ⌈batches / gradAccum⌉⌉ steps. Example: 5 examples, batch 2, accumulation 2, 3 epochs →
// 3 micro-batches an epoch → 2 steps an epoch (2 + 1 micro-batches) → 6 steps.

export interface StepPlanSettings {
  readonly batchSize: number;
  readonly gradAccum: number;
  /** Optimizer steps; null: derived from epochs. */
  readonly steps: number | null;
  readonly epochs: number;
}

/** Optimizer steps in one epoch over `trainExamples` (at least 1). */
export function stepsPerEpoch(trainExamples: number, batchSize: number, gradAccum: number): number {
  return Math.max(1, Math.ceil(Math.ceil(trainExamples / batchSize) / gradAccum));
}

/** The run's optimizer steps: `steps` when given, else from the epochs. */
export function plannedSteps(s: StepPlanSettings, trainExamples: number): number {
  return s.steps ?? Math.max(1, Math.ceil(s.epochs * stepsPerEpoch(trainExamples, s.batchSize, s.gradAccum)));
}
