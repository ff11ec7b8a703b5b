// Reading a PEFT adapter (adapter_config.json + adapter_model.safetensors) from what a person has:
// a folder URL, the two files, or a zip of them; and fetching a dataset URL. Failures become
// QloraErrors so the error view can say what to do.
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

/** Inflates an adapter zip: in the engine worker on the page (`EngineApi.readAdapterZip`). */
export type AdapterUnzip = (zip: Uint8Array, zipName: string) => Map<string, Uint8Array> | Promise<Map<string, Uint8Array>>;

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

/** The two files, or one zip holding them (at any depth), inflated by `unzip`. */
export async function readAdapterFiles(files: readonly File[], unzip: AdapterUnzip): Promise<AdapterFiles> {
  const entries = new Map<string, Uint8Array>();
  const add = (name: string, data: Uint8Array, from: string) => {
    if (entries.has(name)) throw new QloraError('ADAPTER_INVALID', `${name} is given twice (again in ${from}). Pick the files of one adapter.`);
    entries.set(name, data);
  };
  for (const f of files) {
    if (f.name.toLowerCase().endsWith('.zip')) {
      for (const [name, data] of await unzip(new Uint8Array(await f.arrayBuffer()), f.name)) add(name, data, f.name);
    } else {
      add(baseName(f.name), new Uint8Array(await f.arrayBuffer()), f.name);
    }
  }
  return fromEntries(entries, files.map((f) => f.name).join(', '));
}
