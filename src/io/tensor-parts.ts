// Groups a streamed checkpoint's tensors into the parts the model cache stores (each decoder layer,
// the embedding, lm_head, the final norm) and holds a part's tensors only until its last one arrives;
// then the part is prepared like prepareBaseWeights would, and its float bytes are dropped. Memory is
// the parts in flight, which for files in the reference writer's order (by dtype, then by name) is
// about one layer plus the small float tensors listed ahead of it.
import { QloraError } from '../errors';
import type { ModelConfig } from '../formats/model-config';
import type { TensorInfo } from '../formats/safetensors';
import type { TensorSource } from '../formats/tensor-source';
import { bf16ArrayToF32, f16ArrayToF32 } from '../formats/half';
import { checkFinite } from '../formats/finite';
import { prepareLayer, prepareEmbedding, prepareLmHead, prepareFinalNorm, untiedWithoutLmHead, type BaseQuant, type HostLayerWeights } from '../engine/base-weights';
import type { HostWeight } from '../gpu/weight';
import { layerPart, modelParts, type PartName } from './model-cache';

const LAYER_TENSOR = /^model\.layers\.(\d+)\./;

/** The part a tensor belongs to; null for tensors the model does not use. */
export function partOfTensor(name: string, numLayers: number, tied: boolean): PartName | null {
  const m = LAYER_TENSOR.exec(name);
  if (m) {
    const i = Number(m[1]);
    return i < numLayers ? layerPart(i) : null;
  }
  if (name === 'model.embed_tokens.weight') return 'embed';
  if (name === 'model.norm.weight') return 'norm';
  if (name === 'lm_head.weight' && !tied) return 'lm_head';
  return null;
}

/** As prepareBaseWeights decides it: tied when config says so; untied without an lm_head is refused. */
export function isTied(cfg: ModelConfig, names: Iterable<string>, where = 'The checkpoint'): boolean {
  if (cfg.tieWordEmbeddings) return true;
  for (const n of names) if (n === 'lm_head.weight') return false;
  throw untiedWithoutLmHead(where);
}

interface HeldTensor {
  info: TensorInfo;
  bytes: Uint8Array;
}

/** Reads F32/F16/BF16/F64 bytes (each tensor in its own buffer, so aligned views are free). */
function toFloat32(info: TensorInfo, bytes: Uint8Array, where: string): Float32Array {
  const aligned = (size: number) => (bytes.byteOffset % size === 0 ? bytes : bytes.slice());
  switch (info.dtype) {
    case 'F32': {
      const b = aligned(4);
      return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    }
    case 'F16':
    case 'BF16': {
      const b = aligned(2);
      const u16 = new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
      return info.dtype === 'F16' ? f16ArrayToF32(u16) : bf16ArrayToF32(u16);
    }
    case 'F64': {
      const b = aligned(8);
      return Float32Array.from(new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8));
    }
    default:
      throw new QloraError('WEIGHTS_CORRUPT', `${where}: tensor "${info.name}" is ${info.dtype}, but float32() reads F32/F16/BF16/F64`, { tensor: info.name });
  }
}

/** A TensorSource over tensors held in memory (one part's worth), for prepareLayer. */
export function memorySource(description: string, tensors: ReadonlyMap<string, HeldTensor>): TensorSource {
  const get = (name: string): HeldTensor => {
    const t = tensors.get(name);
    if (t) return t;
    throw new QloraError('WEIGHTS_CORRUPT', `${description}: no tensor "${name}" in the checkpoint. Check that the files belong to this model.`, { tensor: name });
  };
  return {
    description,
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    info: (name) => get(name).info,
    bytes: (name) => get(name).bytes,
    float32: (name) => toFloat32(get(name).info, get(name).bytes, description),
  };
}

export type PreparedPart = HostLayerWeights | HostWeight | Float32Array;

export function preparePart(part: PartName, src: TensorSource, cfg: ModelConfig, quant: BaseQuant, doubleQuant: boolean): PreparedPart {
  if (part === 'embed') return prepareEmbedding(src, cfg);
  if (part === 'lm_head') return prepareLmHead(src, cfg);
  if (part === 'norm') return prepareFinalNorm(src, cfg);
  return prepareLayer(src, cfg, Number(part.slice('layer.'.length)), quant, doubleQuant);
}

/** Collects tensors per part; says when a part is complete and hands its tensors over once. */
export class PartAssembler {
  private readonly partOf = new Map<string, PartName>();
  private readonly missing = new Map<PartName, Set<string>>();
  private readonly held = new Map<PartName, Map<string, HeldTensor>>();

  /** `names`: every tensor of the checkpoint (all shards); `done`: parts already cached. */
  constructor(
    readonly description: string,
    names: Iterable<string>,
    numLayers: number,
    readonly tied: boolean,
    done: { has(part: PartName): boolean },
  ) {
    for (const name of names) {
      const part = partOfTensor(name, numLayers, tied);
      if (!part || done.has(part)) continue;
      this.partOf.set(name, part);
      const set = this.missing.get(part) ?? new Set<string>();
      set.add(name);
      this.missing.set(part, set);
    }
    const absent = modelParts(numLayers, tied).filter((p) => !done.has(p) && !this.missing.has(p));
    if (absent.length) {
      throw new QloraError(
        'WEIGHTS_CORRUPT',
        `${description}: the checkpoint has no tensors for ${absent.join(', ')} (config.json says ${numLayers} layers). Check that the weights belong to this config.`,
        { parts: absent },
      );
    }
  }

  /** Whether the tensor is still needed (its part is neither cached nor complete). */
  wants(name: string): boolean {
    const part = this.partOf.get(name);
    return part !== undefined && this.missing.has(part);
  }

  /** Keeps the tensor; returns its part when that part now has all its tensors. */
  add(info: TensorInfo, bytes: Uint8Array): PartName | null {
    const part = this.partOf.get(info.name);
    const waiting = part && this.missing.get(part);
    if (!part || !waiting) return null;
    checkFinite(this.description, info.name, info.dtype, bytes);
    const held = this.held.get(part) ?? new Map<string, HeldTensor>();
    held.set(info.name, { info, bytes });
    this.held.set(part, held);
    waiting.delete(info.name);
    return waiting.size === 0 ? part : null;
  }

  /** The complete part's tensors as a source; the assembler lets go of them. */
  take(part: PartName): TensorSource {
    const held = this.held.get(part) ?? new Map<string, HeldTensor>();
    this.held.delete(part);
    this.missing.delete(part);
    return memorySource(`${this.description} (${part})`, held);
  }

  /** Parts still waiting for tensors. */
  pending(): PartName[] {
    return [...this.missing.keys()];
  }
}
