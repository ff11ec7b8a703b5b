// `qlora push`: an adapter folder (a --out of qlora train, or a checkpoint-<step>) committed to a Hugging
// Face Hub model repo — adapter_config.json, adapter_model.safetensors and the model card README.md —
// creating the repo when it does not exist. The token comes from --token or HF_TOKEN, the Hub's address
// from HF_ENDPOINT (as huggingface_hub reads them); the token is never written anywhere. Progress goes
// to stderr; stdout gets one JSON line {"repo","url","commit","created","files"}.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QloraError } from '../errors';
import type { OptionSpec, Parsed } from './args';
import { requireOpt } from './args';
import { log } from './setup';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, openAdapterWeights, parseAdapterConfig } from '../engine/peft-adapter';
import { cardWithLicense, checkRepoId, pushToHub } from '../io/hub-push';
import type { HubPushProgress } from '../io/hub-push';

const CARD_FILE = 'README.md';

export const PUSH_OPTIONS: Record<string, OptionSpec> = {
  adapter: { type: 'string', valueName: 'DIR', help: 'the adapter folder to push (adapter_config.json, adapter_model.safetensors, README.md)' },
  repo: { type: 'string', valueName: 'OWNER/NAME', help: 'the Hub model repo: created if it does not exist, else a new commit on its main branch' },
  token: { type: 'string', valueName: 'TOKEN', help: 'a Hugging Face token with write access (default: $HF_TOKEN, better: a --token shows in the process list); never stored' },
  private: { type: 'flag', help: 'create the repo private (an existing repo keeps its visibility)' },
  license: { type: 'string', valueName: 'ID', help: 'license id for the model card\'s metadata, e.g. apache-2.0 (use the base model\'s)' },
  message: { type: 'string', valueName: 'TEXT', help: 'the commit title (default "Upload LoRA adapter")' },
};

export const PUSH_NOTES = `The Hub's address is $HF_ENDPOINT when set (a private Hub or a mirror), else https://huggingface.co.
Exit 0: pushed; 1: refused or failed (the message says why: a bad token, no write access, …); 2: bad options.
`;

async function readFolderFile(dir: string, name: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await readFile(join(dir, name)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new QloraError('ARGUMENT_INVALID', `Could not read ${join(dir, name)}: ${(e as Error).message}`);
  }
}

/** The folder's adapter files, checked before anything is sent (a half-written folder must not be shared). */
async function adapterFolderFiles(dir: string, license: string | undefined): Promise<Record<string, Uint8Array>> {
  const config = await readFolderFile(dir, ADAPTER_CONFIG_FILE);
  const weights = await readFolderFile(dir, ADAPTER_WEIGHTS_FILE);
  if (!config || !weights) {
    throw new QloraError('ARGUMENT_INVALID', `${dir} is not an adapter folder: it needs ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE} (missing: ${[!config && ADAPTER_CONFIG_FILE, !weights && ADAPTER_WEIGHTS_FILE].filter(Boolean).join(', ')}). Give the --out folder of qlora train or one of its checkpoint-<step> folders.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(config));
  } catch (e) {
    throw new QloraError('CONFIG_INVALID', `${join(dir, ADAPTER_CONFIG_FILE)} is not valid JSON: ${(e as Error).message}`);
  }
  parseAdapterConfig(json, join(dir, ADAPTER_CONFIG_FILE));
  openAdapterWeights(weights, join(dir, ADAPTER_WEIGHTS_FILE));
  const files: Record<string, Uint8Array> = { [ADAPTER_CONFIG_FILE]: config, [ADAPTER_WEIGHTS_FILE]: weights };
  const card = await readFolderFile(dir, CARD_FILE);
  if (card) {
    const text = new TextDecoder().decode(card);
    files[CARD_FILE] = new TextEncoder().encode(license ? cardWithLicense(text, license) : text);
  } else {
    log(`${dir} has no ${CARD_FILE}: the repo gets no model card (qlora train writes one).`);
  }
  return files;
}

export async function push(p: Parsed): Promise<void> {
  const cmd = 'push';
  const dir = requireOpt<string>(p, 'adapter', cmd);
  const repo = checkRepoId(requireOpt<string>(p, 'repo', cmd));
  const token = (p.token as string | undefined) ?? process.env.HF_TOKEN ?? '';
  if (!token) throw new QloraError('ARGUMENT_INVALID', 'qlora push needs a Hugging Face token with write access: pass --token or set HF_TOKEN (make one at huggingface.co/settings/tokens).');
  const files = await adapterFolderFiles(dir, p.license as string | undefined);
  let lastPhase = '';
  let lastTenth = -1;
  const onProgress = (e: HubPushProgress) => {
    const tenth = e.totalBytes ? Math.floor((10 * e.sentBytes) / e.totalBytes) : 10;
    if (e.phase === lastPhase && (e.phase !== 'uploading' || tenth === lastTenth)) return;
    [lastPhase, lastTenth] = [e.phase, tenth];
    if (e.phase === 'uploading') log(`uploading ${(e.sentBytes / 2 ** 20).toFixed(1)} of ${(e.totalBytes / 2 ** 20).toFixed(1)} MiB`);
    else if (e.phase !== 'done') log(`${e.phase}…`);
  };
  const result = await pushToHub({
    repo, token, files, onProgress,
    endpoint: process.env.HF_ENDPOINT || undefined,
    ...(p.private ? { private: true } : {}),
    ...(p.message !== undefined ? { commitTitle: p.message as string } : {}),
  });
  log(`${result.created ? 'created' : 'updated'} ${result.url}`);
  process.stdout.write(JSON.stringify({ repo: result.repo, url: result.url, commit: result.commitUrl, created: result.created, files: result.files }) + '\n');
}
