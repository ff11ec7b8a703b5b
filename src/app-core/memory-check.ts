// A memory estimate judged against this GPU, for the page: the WebGPU buffer limits first (exact), then
// the total against the gpu-memory setting or a probe allocation (gpu/memory-probe.ts), with words
// that say which of them answered, and the one-click fixes when the run does not fit.
import { checkFits, formatBytes } from '../engine/memory-estimate';
import type { DeviceLimits, FitCheck, MemoryEstimate } from '../engine/memory-estimate';
import { memoryFixes } from '../engine/memory-fixes';
import type { RunSettings } from '../engine/run-settings';
import type { DeviceMemory, MemoryAnswer, MemoryBasis } from '../gpu/memory-probe';
import type { MemoryReport } from '../worker/protocol';

/** An estimate with no verdict (the Learn view's comparisons). */
export function plainReport(e: MemoryEstimate): MemoryReport {
  return { total: e.total, breakdown: e.breakdown, fits: true, message: null, basis: 'not measured', basisText: '', fromConfig: false, fixes: [] };
}

function basisText(a: MemoryAnswer, total: number): string {
  switch (a.basis) {
    case 'setting':
      return `Compared with the gpu-memory setting (${formatBytes(a.available ?? 0)}), not measured.`;
    case 'probe':
      return a.fits
        ? `Measured: this GPU allocated ${formatBytes(total)} in a test and freed it (other tabs and programs may take memory later).`
        : `Measured: this GPU could not allocate ${formatBytes(total)} in a test${a.available ? ` (${formatBytes(a.available)} worked)` : ''}.`;
    case 'not measured':
      return "Not measured (a run is using the GPU): only WebGPU's buffer limits were checked, so whether the total fits is a guess.";
  }
}

function availableWords(a: MemoryAnswer): string {
  if (a.basis === 'setting') return `the ${formatBytes(a.available ?? 0)} of the gpu-memory setting`;
  return a.available ? `the ${formatBytes(a.available)} this GPU allocated in a test` : 'what this GPU could allocate in a test';
}

export interface JudgeOptions {
  limits: DeviceLimits;
  memory: DeviceMemory;
  /** Bytes this worker holds on the GPU now (a loaded model), freed before a new run is set up or counted in it. */
  held: number;
  /** False while a run uses the GPU: a probe would compete with it. */
  canProbe: boolean;
  fromConfig: boolean;
}

export async function judgeMemory(e: MemoryEstimate, settings: RunSettings, o: JudgeOptions): Promise<MemoryReport> {
  let fit: FitCheck = checkFits(e, o.limits);
  let text: string;
  let basis: MemoryBasis = 'not measured';
  if (!fit.ok) {
    text = "From WebGPU's limits, which this GPU reports exactly.";
  } else {
    const a = await o.memory.check(e.total, o.held, o.canProbe);
    text = basisText(a, e.total);
    basis = a.basis;
    // A failed probe with nothing known to work: any hint below the total says "does not fit".
    if (a.fits === false) fit = checkFits(e, o.limits, a.available ?? e.total - 1, availableWords(a));
  }
  return {
    total: e.total,
    breakdown: e.breakdown,
    fits: fit.ok,
    message: fit.ok ? null : fit.message,
    basis,
    basisText: text,
    fromConfig: o.fromConfig,
    fixes: memoryFixes(settings, e, fit),
  };
}
