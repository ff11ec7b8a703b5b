// Where one training step's GPU time goes (`npm run bench -- --profile`, scripts/gpu-bench.sh): every
// dispatch of the pass and of the optimizer timed on its own (gpu/profile.ts), summed by group and by
// kernel. Groups: products (by role — the kernel's name without its back end — and shape M×N×K),
// attention, decode (NF4 → f16 scratch), loss (cross-entropy and its sum), optimizer (Σg², AdamW),
// elementwise (norms, RoPE, gated activation, dropout, embedding) and copies. One JSON line; the
// kernel rows carry TFLOP/s where the dispatch said its FLOPs (the products), so one GPU run says
// what to fix next.
import type { WorkTime, ProfileClock } from '../gpu/profile';

export const PROFILE_GROUPS = ['products', 'attention', 'decode', 'loss', 'optimizer', 'elementwise', 'copies'] as const;
export type ProfileGroup = (typeof PROFILE_GROUPS)[number];

/** The group of a kernel of the training pass by its label (gpu/shaders.ts KERNELS); the optimizer's are tagged by the caller. */
export function profileGroup(label: string): ProfileGroup {
  if (/^(matmul|linear_|lora_|gemm_)/.test(label)) return 'products';
  if (label.startsWith('attention') || label === 'kv_append') return 'attention';
  if (label.startsWith('nf4_decode')) return 'decode';
  if (/^(cross_entropy|reduce_sum|logit_softcap)/.test(label)) return 'loss';
  if (label === 'adamw') return 'optimizer';
  if (label === 'copy' || label === 'clear') return 'copies';
  return 'elementwise';
}

export interface ProfileRow {
  group: ProfileGroup;
  /** The kernel's label without its back end and tile (`linear_fwd_nf4`), or the label as is. */
  kernel: string;
  /** M×N×K for a product, '' otherwise. */
  shape: string;
  count: number;
  /** null when no piece of it could be timed with this clock (copies under timestamps). */
  ms: number | null;
  tflops: number | null;
}

export interface StepProfile {
  kind: 'profile';
  clock: ProfileClock;
  dispatches: number;
  /** Σ of every timed piece: ≥ the step's time, nothing overlaps in a profiling run. */
  total_ms: number;
  groups: Record<ProfileGroup, { ms: number; share: number; count: number }>;
  /** By time, most first. */
  kernels: ProfileRow[];
}

/** Sums the timed pieces of one step (the pass's, then the optimizer's) by group and by kernel × shape. */
export function summarizeProfile(clock: ProfileClock, pass: WorkTime[], optimizer: WorkTime[]): StepProfile {
  const rows = new Map<string, ProfileRow & { flops: number }>();
  const groups = Object.fromEntries(PROFILE_GROUPS.map((g) => [g, { ms: 0, share: 0, count: 0 }])) as StepProfile['groups'];
  let total = 0;
  let dispatches = 0;
  const add = (w: WorkTime, group: ProfileGroup) => {
    const kernel = w.label.split('@')[0];
    const shape = w.cost?.shape ?? '';
    const key = `${group}|${kernel}|${shape}`;
    const row = rows.get(key) ?? { group, kernel, shape, count: 0, ms: null, tflops: null, flops: 0 };
    row.count++;
    row.flops += w.cost?.flops ?? 0;
    if (w.ms !== null) row.ms = (row.ms ?? 0) + w.ms;
    rows.set(key, row);
    groups[group].count++;
    groups[group].ms += w.ms ?? 0;
    total += w.ms ?? 0;
    if (group !== 'copies') dispatches++;
  };
  for (const w of pass) add(w, profileGroup(w.label));
  for (const w of optimizer) add(w, w.label === 'copy' || w.label === 'clear' ? 'copies' : 'optimizer');
  for (const g of PROFILE_GROUPS) groups[g].share = total > 0 ? groups[g].ms / total : 0;
  const kernels = [...rows.values()]
    .map(({ flops, ...r }) => ({ ...r, tflops: flops > 0 && r.ms ? flops / (r.ms / 1000) / 1e12 : null }))
    .sort((a, b) => (b.ms ?? -1) - (a.ms ?? -1));
  return { kind: 'profile', clock, dispatches, total_ms: total, groups, kernels };
}
