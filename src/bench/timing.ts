// Wall-clock timing of GPU work: submit, then wait for the queue to drain. Repeated runs amortize the
// submission overhead; the first (warm-up) run also builds pipelines and is not counted.
import type { GpuContext } from '../gpu/context';

export async function timeGpu(ctx: GpuContext, run: () => void, reps: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) run();
  await ctx.device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  await ctx.device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / reps;
}
