// The two files of a PEFT adapter (adapter_config.json, adapter_model.safetensors) out of a zip a person
// picked. Runs in the engine worker, so a zip bomb never costs the page's main thread: sizes are checked
// from the central directory before anything inflates, each entry is inflated with a running cap (its
// declared size, itself capped by what an adapter's file can be) and its CRC-32 checked, and the
// weights' safetensors header is read as soon as it has inflated, so a file of zeros stops at once.
import { QloraError } from '../errors';
import { parseSafetensorsHeader, safetensorsHeaderLength } from './safetensors-header';
import { inflateZipEntry, zipDirectory } from './zip-read';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, asAdapterError } from '../engine/peft-adapter';

/** adapter_config.json is a few hundred bytes; 1 MiB is any config plus room. */
export const MAX_CONFIG_BYTES = 1 << 20;
/**
 * The weights of the largest adapter this engine trains in a browser (8B, r=64, all linear, f32) are
 * ~700 MB; 2 GiB is past that.
 */
export const MAX_ADAPTER_WEIGHTS_BYTES = 2 ** 31;

const OPTS = { code: 'ADAPTER_INVALID' } as const;
const baseName = (path: string) => path.split('/').pop() ?? path;
const dirName = (path: string) => path.slice(0, path.length - baseName(path).length);

/**
 * Refuses weights whose safetensors header does not describe a file of exactly `size` bytes, once the
 * header has inflated (true: checked; false: not enough bytes yet).
 */
function weightsHeaderCheck(where: string, size: number): (head: Uint8Array) => boolean {
  return (head) => {
    if (head.length < 8) return false;
    try {
      if (head.length < 8 + safetensorsHeaderLength(head, where, size)) return false;
      parseSafetensorsHeader(head, where, size);
    } catch (e) {
      throw asAdapterError(e);
    }
    return true;
  };
}

/**
 * The adapter's two files by name. Other entries are skipped unread (so "__proto__" or a 1 GiB README
 * cost nothing), and a zip with more than one adapter is refused rather than mixing one's config with
 * another's weights.
 */
export function adapterFromZip(bytes: Uint8Array, zipName: string): Map<string, Uint8Array> {
  const wanted = zipDirectory(bytes, zipName, OPTS).filter((e) => !e.name.endsWith('/') && [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE].includes(baseName(e.name)));
  for (const e of wanted) {
    const name = baseName(e.name);
    const cap = name === ADAPTER_CONFIG_FILE ? MAX_CONFIG_BYTES : MAX_ADAPTER_WEIGHTS_BYTES;
    if (e.size > cap) {
      throw new QloraError('ADAPTER_INVALID', `${zipName}: "${e.name}" would inflate to ${e.size.toLocaleString('en')} bytes, more than an adapter's ${name} can be (${cap.toLocaleString('en')}). This is not an adapter zip.`);
    }
  }
  const folders = [...new Set(wanted.map((w) => dirName(w.name)))];
  if (folders.length > 1 || wanted.length > 2) {
    throw new QloraError('ADAPTER_INVALID', `${zipName} holds more than one adapter (${wanted.map((w) => w.name).join(', ')}). Zip one adapter folder at a time.`);
  }
  const entries = new Map<string, Uint8Array>();
  // The config first: it is small, and a damaged one is found before the weights inflate.
  for (const e of [...wanted].sort((a, b) => a.size - b.size)) {
    const name = baseName(e.name);
    const check = name === ADAPTER_WEIGHTS_FILE ? weightsHeaderCheck(`"${e.name}" in ${zipName}`, e.size) : undefined;
    entries.set(name, inflateZipEntry(bytes, e, zipName, OPTS, check));
  }
  return entries;
}
