// What the weight loader reads tensors from: one safetensors file, or several behind a shard index.
// Synchronous over files already in memory (Node CLI, tests, small models); the browser streams large
// checkpoints through src/io instead and hands over tensors one at a time.
import { QloraError } from '../errors';
import type { SafetensorsFile, TensorInfo } from './safetensors';

export interface TensorSource {
  readonly description: string;
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  bytes(name: string): Uint8Array;
  float32(name: string): Float32Array;
}

/** Several shards seen as one source; every tensor must be in exactly one shard. */
export function combineShards(files: SafetensorsFile[], description: string): TensorSource {
  const owner = new Map<string, SafetensorsFile>();
  for (const f of files) {
    for (const n of f.names()) {
      const prev = owner.get(n);
      if (prev) {
        throw new QloraError('WEIGHTS_CORRUPT', `Tensor "${n}" is in both ${prev.fileName} and ${f.fileName}; a checkpoint holds each tensor once.`);
      }
      owner.set(n, f);
    }
  }
  const get = (name: string): SafetensorsFile => {
    const f = owner.get(name);
    if (!f) throw new QloraError('WEIGHTS_CORRUPT', `${description}: no tensor "${name}" in any shard.`, { tensor: name });
    return f;
  };
  return {
    description,
    names: () => [...owner.keys()],
    has: (n) => owner.has(n),
    info: (n) => get(n).info(n),
    bytes: (n) => get(n).bytes(n),
    float32: (n) => get(n).float32(n),
  };
}

export function singleFile(file: SafetensorsFile): TensorSource {
  return { description: file.fileName, names: () => file.names(), has: (n) => file.has(n), info: (n) => file.info(n), bytes: (n) => file.bytes(n), float32: (n) => file.float32(n) };
}

/**
 * The tensors of `source` under other names: `rename` gives a stored name's new name, or null to hide it
 * (a wrapping checkpoint's vision tower seen as its text model, checkpoint-names.ts textTensorName).
 */
export function renamedSource(source: TensorSource, rename: (stored: string) => string | null): TensorSource {
  const stored = new Map<string, string>();
  for (const name of source.names()) {
    const renamed = rename(name);
    if (renamed === null) continue;
    const prev = stored.get(renamed);
    if (prev !== undefined) {
      throw new QloraError('WEIGHTS_CORRUPT', `${source.description}: "${prev}" and "${name}" are both "${renamed}" of the text model; a checkpoint holds each tensor once.`, { tensor: renamed });
    }
    stored.set(renamed, name);
  }
  const get = (name: string): string => {
    const s = stored.get(name);
    if (s === undefined) throw new QloraError('WEIGHTS_CORRUPT', `${source.description}: no tensor "${name}" in the checkpoint.`, { tensor: name });
    return s;
  };
  return {
    description: source.description,
    names: () => [...stored.keys()],
    has: (n) => stored.has(n),
    info: (n) => ({ ...source.info(get(n)), name: n }),
    bytes: (n) => source.bytes(get(n)),
    float32: (n) => source.float32(get(n)),
  };
}
