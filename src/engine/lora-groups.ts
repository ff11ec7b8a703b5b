// LoRA modules that read the same input (q/k/v or Gated DeltaNet's in_proj_* on the first norm's output,
// gate/up on the second's; a group has at most three, the fused kernels' limit, so in_proj_* are two groups),
// whose products run together (ops/lora-fused.ts), and the sizes of the buffers that grouping needs.
// Used by decoder-layer.ts's buffer plans (what a pass allocates, and the memory estimate sums) and its recording.
import type { LoraModule } from './lora';

/** Every LoRA module in LORA_MODULES order, in groups of the modules sharing an input. */
export const LORA_INPUT_GROUPS: readonly (readonly LoraModule[])[] = [
  ['q_proj', 'k_proj', 'v_proj'],
  ['o_proj'],
  ['gate_proj', 'up_proj'],
  ['down_proj'],
  ['in_proj_qkv', 'in_proj_z'],
  ['in_proj_b', 'in_proj_a'],
  ['out_proj'],
];

/** The targeted modules of m's group (m's own included when targeted), in order. */
export function targetedGroup(targets: readonly LoraModule[], m: LoraModule): LoraModule[] {
  const group = LORA_INPUT_GROUPS.find((g) => g.includes(m))!;
  return group.filter((x) => targets.includes(x));
}

/** The most targeted modules of one group: dh of a whole group is [M, width·r]. */
export function loraGroupWidth(targets: readonly LoraModule[]): number {
  return Math.max(1, ...LORA_INPUT_GROUPS.map((g) => g.filter((x) => targets.includes(x)).length));
}

/**
 * Floats of the backward LoRA scratch: dh·A before the dropout mask [M, max(in)] (with dropout), or a
 * group's gradients gathered for one product (without): dA [3r, max(in)], dB [Q + 2·KV, r] or [2·I, r]
 * (Q counts q_proj's gate rows when it has them), or with Gated DeltaNet [Ch + Z, r] (in_proj_qkv + in_proj_z).
 */
export function loraScratchFloats(M: number, r: number, s: { D: number; Q: number; KV: number; I: number; qOut?: number; gdn?: { Ch: number; Z: number } | null }): number {
  const maxIn = Math.max(s.D, s.Q, s.I, s.gdn?.Z ?? 0);
  const maxGroupOut = Math.max((s.qOut ?? s.Q) + 2 * s.KV, 2 * s.I, s.gdn ? s.gdn.Ch + s.gdn.Z : 0);
  return Math.max(M * maxIn, r * Math.max(3 * maxIn, maxGroupOut));
}
