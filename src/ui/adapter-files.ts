// Reading a PEFT adapter (adapter_config.json + adapter_model.safetensors) from what a person has:
// a folder URL, the two files, or a zip of them; and fetching a dataset URL. Failures become
// QloraErrors so the error view can say what to do.
import { unzipSync } from 'fflate';
import { QloraError } from '../errors';
import type { AdapterFiles } from './state';

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
  return { text: await res.text(), fileName };
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
  for (const f of files) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    if (f.name.toLowerCase().endsWith('.zip')) {
      let unzipped: Record<string, Uint8Array>;
      try {
        unzipped = unzipSync(bytes);
      } catch (e) {
        throw new QloraError('ADAPTER_INVALID', `${f.name} is not a readable zip file (${e instanceof Error ? e.message : String(e)}).`);
      }
      for (const [path, data] of Object.entries(unzipped)) if (!path.endsWith('/')) entries.set(baseName(path), data);
    } else {
      entries.set(baseName(f.name), bytes);
    }
  }
  return fromEntries(entries, files.map((f) => f.name).join(', '));
}
