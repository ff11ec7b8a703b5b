// Qwen3.5's Gated DeltaNet projections in a GGUF LoRA adapter, as llama.cpp's converter lays out the base
// (convert_hf_to_gguf.py Qwen3_5TextModel, arch "qwen35"; checked against gguf-py's tensor map and
// llama.cpp's src/models/qwen35.cpp, which multiplies every one of them through build_lora_mm):
//   in_proj_qkv → attn_qkv, in_proj_z → attn_gate, in_proj_b → ssm_beta, in_proj_a → ssm_alpha, out_proj → ssm_out.
// (Gated attention's q_proj keeps each head's query rows then its gate rows in attn_q, as transformers does,
// so it needs nothing here.) The converter's one change to these weights (_LinearAttentionVReorderBase) is the
// order of the value heads when there are fewer key heads than value heads: transformers groups value head
// k·(Hv/Hk) + v under key head k, ggml wants them tiled (position v·Hk + k). It moves the value rows of
// in_proj_qkv, the rows of in_proj_z / in_proj_b / in_proj_a and the columns of out_proj. On a LoRA pair
// W + s·B·A a row order lands on B's rows and a column order on A's columns. With Hk = Hv (Qwen3.5-0.8B, 2B)
// the order is unchanged.
import { QloraError } from '../errors';
import type { GATED_DELTA_NET_PROJECTIONS } from '../formats/architectures';
import type { LinearAttentionConfig } from '../formats/linear-attention-config';

export type GatedDeltaNetProjection = (typeof GATED_DELTA_NET_PROJECTIONS)[number];

/** gguf-py's tensor names (MODEL_TENSOR.ATTN_QKV … SSM_OUT) of the linear layers' projections. */
export const GGUF_TENSOR_OF_LINEAR_PROJECTION: Readonly<Record<GatedDeltaNetProjection, string>> = {
  in_proj_qkv: 'attn_qkv',
  in_proj_z: 'attn_gate',
  in_proj_b: 'ssm_beta',
  in_proj_a: 'ssm_alpha',
  out_proj: 'ssm_out',
};

export function isGatedDeltaNetProjection(module: string): module is GatedDeltaNetProjection {
  return Object.hasOwn(GGUF_TENSOR_OF_LINEAR_PROJECTION, module);
}

/** For each value-head position in llama.cpp's tiled order, the transformers head it holds. */
export function tiledValueHeads(numKeyHeads: number, numValueHeads: number): number[] {
  if (numValueHeads % numKeyHeads !== 0) {
    throw new QloraError('INTERNAL', `${numValueHeads} value heads do not group under ${numKeyHeads} key heads.`);
  }
  const perKey = numValueHeads / numKeyHeads;
  return Array.from({ length: numValueHeads }, (_, p) => (p % numKeyHeads) * perKey + Math.floor(p / numKeyHeads));
}

/** Rows [from, from + heads·width) of B [rows, r] with their heads (width rows each) in tiled order. */
function reorderRows(B: Float32Array, r: number, from: number, width: number, la: LinearAttentionConfig): Float32Array {
  const out = B.slice();
  tiledValueHeads(la.numKeyHeads, la.numValueHeads).forEach((src, p) => {
    out.set(B.subarray((from + src * width) * r, (from + (src + 1) * width) * r), (from + p * width) * r);
  });
  return out;
}

/** Columns of A [r, heads·width] with their heads in tiled order. */
function reorderColumns(A: Float32Array, r: number, width: number, la: LinearAttentionConfig): Float32Array {
  const cols = A.length / r;
  const out = new Float32Array(A.length);
  const heads = tiledValueHeads(la.numKeyHeads, la.numValueHeads);
  for (let row = 0; row < r; row++) {
    heads.forEach((src, p) => out.set(A.subarray(row * cols + src * width, row * cols + (src + 1) * width), row * cols + p * width));
  }
  return out;
}

/** A [r, in] and B [out, r] of one Gated DeltaNet projection as llama.cpp's qwen35 base expects them. */
export function linearAttentionGgufPair(module: GatedDeltaNetProjection, A: Float32Array, B: Float32Array, r: number, la: LinearAttentionConfig): { A: Float32Array; B: Float32Array } {
  const dv = la.valueHeadDim;
  switch (module) {
    case 'in_proj_qkv': return { A, B: reorderRows(B, r, 2 * la.numKeyHeads * la.keyHeadDim, dv, la) }; // q and k rows stay
    case 'in_proj_z': return { A, B: reorderRows(B, r, 0, dv, la) };
    case 'in_proj_b':
    case 'in_proj_a': return { A, B: reorderRows(B, r, 0, 1, la) };
    case 'out_proj': return { A: reorderColumns(A, r, dv, la), B };
  }
}
