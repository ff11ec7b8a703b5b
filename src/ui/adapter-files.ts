// Reading a PEFT adapter (adapter_config.json + adapter_model.safetensors) from what a person has:
// a folder URL, the two files, or a zip of them; and fetching a dataset URL. Failures become
// QloraErrors so the error view can say what to do.
import { unzipSync } from 'fflate';
import { QloraError } from '../errors';
import type { AdapterFiles } from './state';
import { datasetText } from '../data/text-encoding';

const CONFIG = 'adapter_config.json';
const WEIGHTS = 'adapter_model.safetensors';

async function fetchOk(url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new QloraError('NETWORK', `Could not fetch ${url}: ${e instanceof Error ? e.message : String(e)}. Check the address and your connection (the server must allow cross-origin requests).`);
  }
  if (!res.ok) throw new QloraError('NETWORK', `Fetching ${url} failed with HTTP ${res.status} ${res.statusText}. Check the address.`);
  return res;
}

export async function fetchText(url: string): Promise<{ text: string; fileName: string }> {
  const abs = new URL(url, location.href);
  const res = await fetchOk(abs.href);
  const fileName = decodeURIComponent(abs.pathname.split('/').pop() || 'data.json');
  return { text: datasetText(new Uint8Array(await res.arrayBuffer()), fileName), fileName };
}

/** A PEFT folder URL (as `save_pretrained` writes it, or a Hub `resolve/main/` base). */
export async function fetchAdapter(folderUrl: string): Promise<AdapterFiles> {
  const base = new URL(folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`, location.href).href;
  const [config, weights] = await Promise.all([
    fetchOk(base + CONFIG).then((r) => r.text()),
    fetchOk(base + WEIGHTS).then(async (r) => new Uint8Array(await r.arrayBuffer())),
  ]);
  return { name: folderUrl, config, weights };
}

const baseName = (path: string) => path.split('/').pop() ?? path;
const dirName = (path: string) => path.slice(0, path.length - baseName(path).length);

/** adapter_config.json is a few hundred bytes; 1 MiB is any config plus room. */
const MAX_CONFIG_BYTES = 1 << 20;
/**
 * The weights of the largest adapter this engine trains in a browser (8B, r=64, all linear, f32) are
 * ~700 MB; 2 GiB is past that. Declared sizes are checked before inflating, and fflate inflates into
 * a buffer of the declared size, so a zip bomb costs nothing beyond this cap.
 */
export const MAX_ADAPTER_WEIGHTS_BYTES = 2 ** 31;

/**
 * The two adapter files of a zip, found by name and declared size before anything is inflated:
 * other entries are skipped unread (so "__proto__" or a 1 GiB README cost nothing), and a zip with
 * more than one adapter is refused rather than mixing one's config with another's weights.
 */
export function adapterFromZip(bytes: Uint8Array, zipName: string): Map<string, Uint8Array> {
  const wanted: { path: string; originalSize: number }[] = [];
  let unzipped: Record<string, Uint8Array>;
  try {
    unzipped = unzipSync(bytes, {
      filter: (f) => {
        if (f.name.endsWith('/')) return false;
        const name = baseName(f.name);
        if (name !== CONFIG && name !== WEIGHTS) return false;
        const cap = name === CONFIG ? MAX_CONFIG_BYTES : MAX_ADAPTER_WEIGHTS_BYTES;
        if (f.originalSize > cap) {
          throw new QloraError('ADAPTER_INVALID', `${zipName}: "${f.name}" would inflate to ${f.originalSize.toLocaleString('en')} bytes, more than an adapter's ${name} can be (${cap.toLocaleString('en')}). This is not an adapter zip.`);
        }
        wanted.push({ path: f.name, originalSize: f.originalSize });
        return true;
      },
    });
  } catch (e) {
    if (e instanceof QloraError) throw e;
    throw new QloraError('ADAPTER_INVALID', `${zipName} is not a readable zip file (${e instanceof Error ? e.message : String(e)}).`);
  }
  const folders = [...new Set(wanted.map((w) => dirName(w.path)))];
  if (folders.length > 1 || wanted.length > 2) {
    throw new QloraError('ADAPTER_INVALID', `${zipName} holds more than one adapter (${wanted.map((w) => w.path).join(', ')}). Zip one adapter folder at a time.`);
  }
  const entries = new Map<string, Uint8Array>();
  for (const w of wanted) {
    const data = unzipped[w.path];
    if (data.length !== w.originalSize) throw new QloraError('ADAPTER_INVALID', `${zipName}: "${w.path}" inflates to ${data.length} bytes, but the zip declares ${w.originalSize}. The zip is damaged.`);
    entries.set(baseName(w.path), data);
  }
  return entries;
}

function fromEntries(entries: Map<string, Uint8Array>, name: string): AdapterFiles {
  const config = entries.get(CONFIG);
  const weights = entries.get(WEIGHTS);
  if (!config || !weights) {
    const old = [...entries.keys()].some((k) => k.endsWith('.bin'));
    throw new QloraError(
      'ADAPTER_INVALID',
      `An adapter needs ${CONFIG} and ${WEIGHTS}; found ${[...entries.keys()].join(', ') || 'nothing'}.` +
        (old ? ' adapter_model.bin (pickle) is not read here: save it again with safe_serialization=True.' : ''),
    );
  }
  return { name, config: new TextDecoder().decode(config), weights };
}

/** The two files, or one zip holding them (at any depth). */
export async function readAdapterFiles(files: readonly File[]): Promise<AdapterFiles> {
  const entries = new Map<string, Uint8Array>();
  const add = (name: string, data: Uint8Array, from: string) => {
    if (entries.has(name)) throw new QloraError('ADAPTER_INVALID', `${name} is given twice (again in ${from}). Pick the files of one adapter.`);
    entries.set(name, data);
  };
  for (const f of files) {
    if (f.name.toLowerCase().endsWith('.zip')) {
      for (const [name, data] of adapterFromZip(new Uint8Array(await f.arrayBuffer()), f.name)) add(name, data, f.name);
    } else {
      add(baseName(f.name), new Uint8Array(await f.arrayBuffer()), f.name);
    }
  }
  return fromEntries(entries, files.map((f) => f.name).join(', '));
}
