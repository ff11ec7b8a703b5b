// Every WGSL source, imported as text (Vite's `?raw`; esbuild gets the same through scripts/bundle.mjs).
// Kernels that read operands through snippets are assembled here, so each pipeline's source is known
// in one place.
import operandDense from '../../shaders/operand_dense.wgsl?raw';
import operandDenseDropout from '../../shaders/operand_dense_dropout.wgsl?raw';
import dropoutMask from '../../shaders/dropout_mask.wgsl?raw';
import operandWeightFwd from '../../shaders/operand_weight_fwd.wgsl?raw';
import operandWeightBwd from '../../shaders/operand_weight_bwd.wgsl?raw';
import operandLoraFwd from '../../shaders/operand_lora_fwd.wgsl?raw';
import operandLoraBwd from '../../shaders/operand_lora_bwd.wgsl?raw';
import operandLoraGroupA from '../../shaders/operand_lora_group_a.wgsl?raw';
import operandLoraGroupDh from '../../shaders/operand_lora_group_dh.wgsl?raw';
import operandLoraGroupDb from '../../shaders/operand_lora_group_db.wgsl?raw';
import weightF32 from '../../shaders/weight_f32.wgsl?raw';
import weightF16 from '../../shaders/weight_f16.wgsl?raw';
import weightBf16 from '../../shaders/weight_bf16.wgsl?raw';
import weightNf4 from '../../shaders/weight_nf4.wgsl?raw';
import weightNf4dq from '../../shaders/weight_nf4dq.wgsl?raw';
import embeddingFwd from '../../shaders/embedding_fwd.wgsl?raw';
import rmsnormFwd from '../../shaders/rmsnorm_fwd.wgsl?raw';
import rmsnormBwd from '../../shaders/rmsnorm_bwd.wgsl?raw';
import rope from '../../shaders/rope.wgsl?raw';
import gluFwd from '../../shaders/glu_fwd.wgsl?raw';
import gluBwd from '../../shaders/glu_bwd.wgsl?raw';
import logitSoftcap from '../../shaders/logit_softcap.wgsl?raw';
import dropout from '../../shaders/dropout.wgsl?raw';
import attentionSoftcap from '../../shaders/attention_softcap.wgsl?raw';
import attentionFwd from '../../shaders/attention_fwd.wgsl?raw';
import attentionBwdPrep from '../../shaders/attention_bwd_prep.wgsl?raw';
import attentionBwdDq from '../../shaders/attention_bwd_dq.wgsl?raw';
import attentionBwdDkv from '../../shaders/attention_bwd_dkv.wgsl?raw';
import crossEntropy from '../../shaders/cross_entropy.wgsl?raw';
import reduceSum from '../../shaders/reduce_sum.wgsl?raw';
import copyVec4 from '../../shaders/copy_vec4.wgsl?raw';
import gemmSplitKReduce from '../../shaders/gemm_splitk_reduce.wgsl?raw';
import adamw from '../../shaders/adamw.wgsl?raw';
import kvAppend from '../../shaders/kv_append.wgsl?raw';
import nf4DecodeF16 from '../../shaders/nf4_decode_f16.wgsl?raw';
import nf4Codes from '../../shaders/nf4_codes.wgsl?raw';
import causalConv1dCommon from '../../shaders/causal_conv1d_common.wgsl?raw';
import causalConv1dFwd from '../../shaders/causal_conv1d_fwd.wgsl?raw';
import causalConv1dBwd from '../../shaders/causal_conv1d_bwd.wgsl?raw';
import causalConv1dStep from '../../shaders/causal_conv1d_step.wgsl?raw';
import l2normFwd from '../../shaders/l2norm_fwd.wgsl?raw';
import l2normBwd from '../../shaders/l2norm_bwd.wgsl?raw';
import gatedRmsnormFwd from '../../shaders/gated_rmsnorm_fwd.wgsl?raw';
import gatedRmsnormBwd from '../../shaders/gated_rmsnorm_bwd.wgsl?raw';
import qGateSplit from '../../shaders/q_gate_split.wgsl?raw';
import sigmoidGateFwd from '../../shaders/sigmoid_gate_fwd.wgsl?raw';
import sigmoidGateBwd from '../../shaders/sigmoid_gate_bwd.wgsl?raw';
import gdnGatesCommon from '../../shaders/gdn_gates_common.wgsl?raw';
import gdnGatesFwd from '../../shaders/gdn_gates_fwd.wgsl?raw';
import gdnGatesBwd from '../../shaders/gdn_gates_bwd.wgsl?raw';
import gdnCommon from '../../shaders/gdn_common.wgsl?raw';
import gdnChunkFwd from '../../shaders/gdn_chunk_fwd.wgsl?raw';
import gdnStateFwd from '../../shaders/gdn_state_fwd.wgsl?raw';
import gdnStateBwd from '../../shaders/gdn_state_bwd.wgsl?raw';
import gdnChunkBwd from '../../shaders/gdn_chunk_bwd.wgsl?raw';
import gdnRecurrentFwd from '../../shaders/gdn_recurrent_fwd.wgsl?raw';
import type { KernelSpec } from './program';
import { gemmLabel, gemmSource } from './gemm';
import { attentionMmaSource, tilesLabel } from './attention';
import type { AttentionTiles } from './attention';
import type { GemmVariant } from './gemm';
import type { GatedActivation } from '../formats/architectures';

export type WeightFormat = 'f32' | 'f16' | 'bf16' | 'nf4' | 'nf4dq';

const WEIGHT_SNIPPETS: Record<WeightFormat, string> = {
  f32: weightF32,
  f16: weightF16,
  bf16: weightBf16,
  nf4: nf4Codes + weightNf4,
  nf4dq: nf4Codes + weightNf4dq,
};

const simple = (label: string, code: string): KernelSpec => ({ label, code });

/** shaders/glu_*.wgsl's ACT constant. */
const GLU_ACT: Record<GatedActivation, number> = { silu: 0, gelu_tanh: 1 };

/** A flash-attention kernel with the soft-cap snippet, streaming head_dim in `dch` chunks of 64. */
const attention = (label: string, code: string, dch: number): KernelSpec => ({
  label: `${label}_d${dch * 64}`,
  code: attentionSoftcap + code,
  constants: { DCH: dch },
});

/**
 * A matrix product: the generator's directives, the operand snippets, the generator's body for the
 * variant (src/gpu/gemm/), labelled with the back end and tile, e.g. `linear_fwd_nf4@scalar/t128`.
 */
function gemm(label: string, v: GemmVariant, snippets: string, constants?: Record<string, number>): KernelSpec {
  const src = gemmSource(v);
  return { label: label + gemmLabel(v), code: src.directives + snippets + src.body, constants };
}

export const KERNELS = {
  matmulDense: (v: GemmVariant, transA: boolean, transB: boolean): KernelSpec =>
    gemm(`matmul${transA ? '_tA' : ''}${transB ? '_tB' : ''}`, v, operandDense, { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 }),
  /** A dense product with one operand read through inverted dropout (operand_dense_dropout.wgsl). */
  matmulDenseDropout: (v: GemmVariant, transA: boolean, transB: boolean, dropOperand: 'A' | 'B'): KernelSpec =>
    gemm(`matmul${transA ? '_tA' : ''}${transB ? '_tB' : ''}_drop${dropOperand}`, v, dropoutMask + operandDenseDropout, {
      TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0, DROP_A: dropOperand === 'A' ? 1 : 0, DROP_B: dropOperand === 'B' ? 1 : 0,
    }),
  linearFwd: (v: GemmVariant, format: WeightFormat): KernelSpec => gemm(`linear_fwd_${format}`, v, WEIGHT_SNIPPETS[format] + operandWeightFwd),
  linearBwd: (v: GemmVariant, format: WeightFormat): KernelSpec => gemm(`linear_bwd_${format}`, v, WEIGHT_SNIPPETS[format] + operandWeightBwd),
  /** A frozen linear and its LoRA up-projection in one product (operand_lora_fwd.wgsl). */
  loraLinearFwd: (v: GemmVariant, format: WeightFormat, c: { rank: number; hLd: number; hCol: number; scale: number }): KernelSpec =>
    gemm(`lora_linear_fwd_${format}`, v, WEIGHT_SNIPPETS[format] + operandLoraFwd, { RANK: c.rank, H_LD: c.hLd, H_COL: c.hCol, LORA_SCALE: c.scale }),
  /** The input gradient of a frozen linear and of its LoRA path in one product (operand_lora_bwd.wgsl). */
  loraLinearBwd: (v: GemmVariant, format: WeightFormat, c: { rank: number; hLd: number; hCol: number }): KernelSpec =>
    gemm(`lora_linear_bwd_${format}`, v, WEIGHT_SNIPPETS[format] + operandLoraBwd, { RANK: c.rank, H_LD: c.hLd, H_COL: c.hCol }),
  /** LoRA down-projections of modules sharing an input, side by side (operand_lora_group_a.wgsl). */
  loraGroupA: (v: GemmVariant, rank: number): KernelSpec => gemm('lora_group_a', v, operandLoraGroupA, { RANK: rank }),
  /** dh of modules sharing an input, block-diagonal in K (operand_lora_group_dh.wgsl). */
  loraGroupDh: (v: GemmVariant, rank: number, out0: number, out1: number): KernelSpec =>
    gemm('lora_group_dh', v, operandLoraGroupDh, { RANK: rank, OUT0: out0, OUT1: out1 }),
  /** dB of modules sharing an input, rows stacked, block-diagonal in K (operand_lora_group_db.wgsl). */
  loraGroupDb: (v: GemmVariant, rank: number, group: number, out0: number, out1: number): KernelSpec =>
    gemm('lora_group_db', v, operandLoraGroupDb, { RANK: rank, GROUP: group, OUT0: out0, OUT1: out1 }),
  /** The sum of a split-K product's slices, bias and beta applied once (gemm_splitk_reduce.wgsl). */
  gemmSplitKReduce: simple('gemm_splitk_reduce', gemmSplitKReduce),
  embeddingFwd: (format: WeightFormat): KernelSpec => ({
    label: `embedding_fwd_${format}`,
    code: WEIGHT_SNIPPETS[format] + embeddingFwd,
  }),
  rmsnormFwd: simple('rmsnorm_fwd', rmsnormFwd),
  rmsnormBwd: simple('rmsnorm_bwd', rmsnormBwd),
  rope: simple('rope', rope),
  gluFwd: (act: GatedActivation): KernelSpec => ({ label: `glu_fwd_${act}`, code: gluFwd, constants: { ACT: GLU_ACT[act] } }),
  gluBwd: (act: GatedActivation): KernelSpec => ({ label: `glu_bwd_${act}`, code: gluBwd, constants: { ACT: GLU_ACT[act] } }),
  logitSoftcap: simple('logit_softcap', logitSoftcap),
  dropout: simple('dropout', dropoutMask + dropout),
  // attention: a pipeline per count of 64-wide head_dim chunks (DCH = ceil(head_dim / 64), 1..4)
  attentionFwd: (dch: number): KernelSpec => attention('attention_fwd', attentionFwd, dch),
  attentionBwdPrep: simple('attention_bwd_prep', attentionBwdPrep),
  attentionBwdDq: (dch: number): KernelSpec => attention('attention_bwd_dq', attentionBwdDq, dch),
  attentionBwdDkv: (dch: number): KernelSpec => attention('attention_bwd_dkv', attentionBwdDkv, dch),
  /** Attention on tensor cores (src/gpu/attention/): the f32 kernels' twins, generated per tiling. */
  attentionMma: (v: GemmVariant, t: AttentionTiles): KernelSpec => {
    const src = attentionMmaSource(v, t);
    const label = { fwd: 'attention_fwd', dq: 'attention_bwd_dq', dkv: 'attention_bwd_dkv' }[t.kernel];
    return { label: label + tilesLabel(v, t), code: src.directives + attentionSoftcap + src.body };
  },
  crossEntropy: simple('cross_entropy', crossEntropy),
  reduceSum: simple('reduce_sum', reduceSum),
  /** The bandwidth ceiling's copy (src/bench/kernel-bench.ts): 16-byte loads, four in flight per thread. */
  copyVec4: simple('copy_vec4', copyVec4),
  adamw: simple('adamw', adamw),
  kvAppend: simple('kv_append', kvAppend),
  nf4DecodeF16: simple('nf4_decode_f16', nf4Codes + nf4DecodeF16),
  // Gated DeltaNet's gated delta rule (gdn_common.wgsl holds the shared parameter block and layouts)
  gdnChunkFwd: simple('gdn_chunk_fwd', gdnCommon + gdnChunkFwd),
  gdnStateFwd: simple('gdn_state_fwd', gdnCommon + gdnStateFwd),
  gdnStateBwd: simple('gdn_state_bwd', gdnCommon + gdnStateBwd),
  gdnChunkBwd: simple('gdn_chunk_bwd', gdnCommon + gdnChunkBwd),
  gdnRecurrentFwd: simple('gdn_recurrent_fwd', gdnCommon + gdnRecurrentFwd),
  gdnGatesFwd: simple('gdn_gates_fwd', gdnGatesCommon + gdnGatesFwd),
  gdnGatesBwd: simple('gdn_gates_bwd', gdnGatesCommon + gdnGatesBwd),
  qGateSplit: simple('q_gate_split', qGateSplit),
  sigmoidGateFwd: simple('sigmoid_gate_fwd', sigmoidGateFwd),
  sigmoidGateBwd: simple('sigmoid_gate_bwd', sigmoidGateBwd),
  gatedRmsnormFwd: simple('gated_rmsnorm_fwd', gatedRmsnormFwd),
  gatedRmsnormBwd: simple('gated_rmsnorm_bwd', gatedRmsnormBwd),
  l2normFwd: simple('l2norm_fwd', l2normFwd),
  l2normBwd: simple('l2norm_bwd', l2normBwd),
  causalConv1dFwd: simple('causal_conv1d_fwd', causalConv1dCommon + causalConv1dFwd),
  causalConv1dBwd: simple('causal_conv1d_bwd', causalConv1dCommon + causalConv1dBwd),
  causalConv1dStep: simple('causal_conv1d_step', causalConv1dStep),
} as const;
