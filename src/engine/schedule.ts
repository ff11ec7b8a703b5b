// Learning-rate schedules with warmup, as transformers' get_scheduler (LambdaLR): the update with
// index k (0-based) uses lr · factor(k).
export type SchedulerName = 'constant' | 'linear' | 'cosine';
export const SCHEDULERS: readonly SchedulerName[] = ['constant', 'linear', 'cosine'];

export function learningRate(base: number, scheduler: SchedulerName, k: number, warmup: number, total: number): number {
  if (k < warmup) return (base * k) / Math.max(1, warmup);
  if (scheduler === 'constant') return base;
  const progress = (k - warmup) / Math.max(1, total - warmup);
  if (scheduler === 'linear') return base * Math.max(0, 1 - progress);
  return base * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
