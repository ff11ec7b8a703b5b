// Timing each piece of GPU work of a program on its own (Program.timeEachStep), for the step profile
// (src/bench/step-profile.ts). Two clocks:
//   timestamp  each dispatch in its own compute pass with timestampWrites at its start and end (the
//              `timestamp-query` feature, which createGpuContext requests where the adapter offers it):
//              GPU time, all of a program in one submission per TIMESTAMP_CHUNK dispatches. Copies and
//              clears have no pass to time: null. Dawn quantizes timestamps unless its
//              `timestamp_quantization` toggle is off (DAWN_FLAGS=disable-dawn-features=timestamp_quantization).
//   submit     each piece submitted alone and waited for (onSubmittedWorkDone): wall time, an upper bound
//              that includes a submission's fixed cost; for adapters without timestamps.
// Either way the pieces run one after another with nothing overlapping, so their sum is at least the
// step's time; the shares are what says what to fix.
import type { GpuContext } from './context';
import { USAGE, createStaging, mapStaging } from './context';
import type { DispatchCost } from './program';

export type ProfileClock = 'timestamp' | 'submit';

export interface TimedWork {
  label: string;
  /** A compute dispatch (timestamp writes apply); false: a copy or clear. */
  compute: boolean;
  cost?: DispatchCost;
  encode(enc: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites): void;
}

export interface WorkTime {
  label: string;
  cost?: DispatchCost;
  /** null: not measurable with this clock (a copy under timestamps). */
  ms: number | null;
}

const QUERY_RESOLVE = 0x200;
/** Dispatches per query set: two timestamps each, within WebGPU's 4096 queries per set. */
const TIMESTAMP_CHUNK = 2048;

/** The clock `ctx` can profile with: timestamps when its device has the feature, else submit-and-wait. */
export function defaultClock(ctx: GpuContext): ProfileClock {
  return ctx.device.features.has('timestamp-query') ? 'timestamp' : 'submit';
}

export async function timeEach(ctx: GpuContext, work: TimedWork[], clock: ProfileClock): Promise<WorkTime[]> {
  if (clock === 'timestamp' && !ctx.device.features.has('timestamp-query')) {
    throw new Error("profile: clock 'timestamp' needs the timestamp-query feature, which this device lacks; use 'submit'");
  }
  return clock === 'timestamp' ? timeByTimestamps(ctx, work) : timeBySubmits(ctx, work);
}

async function timeBySubmits(ctx: GpuContext, work: TimedWork[]): Promise<WorkTime[]> {
  const out: WorkTime[] = [];
  for (const w of work) {
    const enc = ctx.device.createCommandEncoder({ label: `profile ${w.label}` });
    w.encode(enc);
    const t0 = performance.now();
    ctx.device.queue.submit([enc.finish()]);
    await ctx.device.queue.onSubmittedWorkDone();
    out.push({ label: w.label, cost: w.cost, ms: performance.now() - t0 });
  }
  return out;
}

async function timeByTimestamps(ctx: GpuContext, work: TimedWork[]): Promise<WorkTime[]> {
  const out: WorkTime[] = [];
  for (let start = 0; start < work.length;) {
    // the next chunk: up to TIMESTAMP_CHUNK dispatches (copies ride along untimed)
    const chunk: TimedWork[] = [];
    let dispatches = 0;
    while (start < work.length && !(work[start].compute && dispatches === TIMESTAMP_CHUNK)) {
      if (work[start].compute) dispatches++;
      chunk.push(work[start++]);
    }
    const count = Math.max(2, 2 * dispatches);
    const querySet = ctx.device.createQuerySet({ type: 'timestamp', count });
    const resolve = ctx.device.createBuffer({ size: count * 8, usage: QUERY_RESOLVE | USAGE.COPY_SRC, label: 'profile.resolve' });
    const staging = createStaging(ctx, count * 8, 'profile.staging');
    const enc = ctx.device.createCommandEncoder({ label: 'profile' });
    let q = 0;
    const slots: (number | null)[] = [];
    for (const w of chunk) {
      if (w.compute) {
        w.encode(enc, { querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 });
        slots.push(q);
        q += 2;
      } else {
        w.encode(enc);
        slots.push(null);
      }
    }
    enc.resolveQuerySet(querySet, 0, count, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, count * 8);
    ctx.device.queue.submit([enc.finish()]);
    const ticks = new BigUint64Array(await mapStaging(staging, count * 8));
    chunk.forEach((w, i) => {
      const s = slots[i];
      // a driver may reorder an end before its start by a tick: clamp at 0
      out.push({ label: w.label, cost: w.cost, ms: s === null ? null : Math.max(0, Number(ticks[s + 1] - ticks[s])) / 1e6 });
    });
    querySet.destroy();
    resolve.destroy();
    staging.destroy();
  }
  return out;
}
