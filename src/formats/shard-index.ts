// Reads `model.safetensors.index.json`, the map from tensor name to shard file of a sharded checkpoint.
// Shard names come from a downloaded file and are later joined to a directory or URL, so anything that
// could leave the model's directory ('../x', '/etc/x', 'C:\x') is refused here, in one place.

import { QloraError } from '../errors';

export interface ShardIndex {
  weightMap: Map<string, string>;
  /** Distinct shard file names, sorted (model-00001-of-00003.safetensors first). */
  shards: string[];
}

function corrupt(fileName: string, message: string): QloraError {
  return new QloraError('WEIGHTS_CORRUPT', `${fileName}: ${message}`, { fileName });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A plain file name (optionally in a subfolder) that stays inside the model's directory. */
function isSafeShardName(shard: string): boolean {
  if (shard === '' || shard.includes('\\') || shard.includes('\0')) return false;
  if (shard.startsWith('/') || /^[A-Za-z]:/.test(shard) || /^[a-z][a-z0-9+.-]*:\/\//i.test(shard)) return false;
  return shard.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

export function parseShardIndex(json: unknown, fileName = 'model.safetensors.index.json'): ShardIndex {
  if (!isRecord(json)) throw corrupt(fileName, `expected a JSON object with "weight_map", found ${JSON.stringify(json)}`);
  const weightMapJson = json['weight_map'];
  if (!isRecord(weightMapJson)) {
    const found = JSON.stringify(weightMapJson);
    throw corrupt(fileName, `"weight_map" must be an object mapping tensor names to shard files, found ${found}`);
  }
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMapJson)) {
    if (typeof shard !== 'string') {
      throw corrupt(fileName, `tensor "${tensor}" maps to ${JSON.stringify(shard)}; expected a shard file name`);
    }
    if (!isSafeShardName(shard)) {
      throw corrupt(fileName, `tensor "${tensor}" maps to "${shard}", which points outside the model's directory; refused`);
    }
    if (!shard.endsWith('.safetensors')) {
      throw corrupt(fileName, `tensor "${tensor}" maps to "${shard}"; expected a .safetensors file`);
    }
    weightMap.set(tensor, shard);
  }
  if (weightMap.size === 0) throw corrupt(fileName, '"weight_map" is empty; expected at least one tensor');
  const shards = [...new Set(weightMap.values())].sort();
  return { weightMap, shards };
}
