// Numbers as people read them: sizes in kB/MB/GB (decimal, as browsers and file managers show
// downloads), rates, durations and ETAs, parameter counts, losses and learning rates.

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const digits = u === 0 ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${bytes < 0 ? '-' : ''}${v.toFixed(digits)} ${units[u]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '—';
}

/** 42 s, 3 min 05 s, 1 h 04 min: precise enough for an ETA, short enough to scan. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** 135 M, 1.24 B parameters. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)} k`;
  return n.toLocaleString('en-US');
}

export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatLoss(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  return v.toFixed(v >= 100 ? 1 : 4);
}

/** Learning rates span decades: 3e-3, 2e-4. */
export function formatLr(v: number): string {
  if (v === 0) return '0';
  return v >= 0.01 ? String(Number(v.toPrecision(3))) : v.toExponential(1).replace('.0e', 'e');
}

export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '—';
  // Tiny fractions (trainable parameters) would round to 0.0 %: keep two significant digits.
  if (fraction > 0 && fraction < 0.001) return `${Number((fraction * 100).toPrecision(2))} %`;
  return `${(fraction * 100).toFixed(digits)} %`;
}

export function formatDate(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Short number for chart ticks. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-2 || a >= 1e5) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}
