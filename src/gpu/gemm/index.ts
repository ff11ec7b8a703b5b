// The matrix-product generator: the body WGSL every GEMM role shares (dense, x·Wᵀ, dy·W in every weight
// format, the fused LoRA operands, dropout operand, lm_head), for a GemmVariant. The operand snippets
// (shaders/operand_*.wgsl, shaders/weight_*.wgsl) go between the directives and the body; they define
// loadA(m, k) / loadB(k, n) and bind the operand buffers from 4 up (src/gpu/shaders.ts assembles them).
// Checked by: test/gemm.test.ts.
import type { GemmVariant } from './config';
import { GEMM_PRELUDE } from './common';
import { scalarBody } from './scalar';
import { subgroupMatrixBody } from './subgroup-matrix';
import { emulatedPrimitives, hardwarePrimitives } from './primitives';
import { tilingId } from './variants';

export interface GemmSource {
  /** enable/diagnostic directives: must open the module, before any snippet. */
  readonly directives: string;
  /** Params, bindings 0..3, the zero-filling loads, the epilogue and the entry point. */
  readonly body: string;
}

const cache = new Map<string, GemmSource>();

export function gemmSource(v: GemmVariant): GemmSource {
  const key = `${v.backend}/${tilingId(v)}/${v.frag.M}x${v.frag.N}x${v.frag.K}/${v.subgroupSize}`;
  let s = cache.get(key);
  if (!s) {
    s = generate(v);
    cache.set(key, s);
  }
  return s;
}

function generate(v: GemmVariant): GemmSource {
  switch (v.backend) {
    case 'scalar':
      return { directives: '', body: GEMM_PRELUDE + scalarBody(v) };
    case 'scalar-f16':
      return { directives: 'enable f16;\n', body: GEMM_PRELUDE + scalarBody(v) };
    case 'subgroup-matrix': {
      const p = hardwarePrimitives(v);
      return { directives: p.directives, body: GEMM_PRELUDE + subgroupMatrixBody(v, p) };
    }
    case 'subgroup-matrix-emulated': {
      const p = emulatedPrimitives(v);
      return { directives: p.directives, body: GEMM_PRELUDE + subgroupMatrixBody(v, p) };
    }
  }
}

export * from './config';
export * from './variants';
