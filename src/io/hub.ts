// Where a model's files come from: a Hugging Face Hub id (+ revision) turned into its `resolve/` base
// URL, any http(s) base URL in the Hub file layout, or files the user picked on disk. The id doubles as
// the cache identity, so it is validated and normalised here, in one place. A token for gated models
// only ever lives in the returned request headers: nothing here stores or logs it.
import { QloraError } from '../errors';

export const HUB_ORIGIN = 'https://huggingface.co';

export interface SuggestedModel {
  readonly id: string;
  readonly label: string;
  /** Parameter count, approximate (embedding included). */
  readonly parameters: number;
  /** Size of the checkpoint to download, approximate (all are stored in bf16). */
  readonly downloadBytes: number;
  /** Gated on the Hub: the user must accept the license and paste a token. */
  readonly gated: boolean;
}

export const SUGGESTED_MODELS: readonly SuggestedModel[] = [
  { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', label: 'SmolLM2 135M Instruct', parameters: 135e6, downloadBytes: 269e6, gated: false },
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', label: 'SmolLM2 360M Instruct', parameters: 362e6, downloadBytes: 724e6, gated: false },
  { id: 'Qwen/Qwen2.5-0.5B-Instruct', label: 'Qwen2.5 0.5B Instruct', parameters: 494e6, downloadBytes: 988e6, gated: false },
  { id: 'meta-llama/Llama-3.2-1B-Instruct', label: 'Llama 3.2 1B Instruct', parameters: 1.24e9, downloadBytes: 2.47e9, gated: true },
  { id: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0', label: 'TinyLlama 1.1B Chat', parameters: 1.1e9, downloadBytes: 2.2e9, gated: false },
];

/** Files fetched over http(s). `id` is the cache identity: "hf:owner/name@revision" or "url:<base>". */
export interface RemoteModel {
  readonly kind: 'url';
  readonly id: string;
  readonly label: string;
  readonly baseUrl: string;
  /** Request headers (Authorization when a token was given). Keep in memory only; never persist. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Files the user picked ("open local files / a folder"), keyed by their path inside the model folder. */
export interface LocalModel {
  readonly kind: 'files';
  readonly id: string;
  readonly label: string;
  readonly files: ReadonlyMap<string, Blob>;
}

export type ModelLocation = RemoteModel | LocalModel;

// The Hub's rules (huggingface_hub `validate_repo_id`): letters, digits, '-', '_', '.'; no '--' or '..';
// '-' and '.' neither start nor end a part; at most 96 characters per part.
const HUB_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;

function invalid(message: string): QloraError {
  return new QloraError('ARGUMENT_INVALID', message);
}

export function isHubId(text: string): boolean {
  const parts = text.split('/');
  return parts.length === 2 && parts.every((p) => HUB_PART.test(p) && !p.includes('--') && !p.includes('..'));
}

function checkHubId(id: string): string {
  if (!isHubId(id)) {
    throw invalid(
      `"${id}" is not a Hugging Face model id. Expected "owner/name" (letters, digits, "-", "_", ".") ` +
        'such as "HuggingFaceTB/SmolLM2-135M-Instruct", or an http(s) URL of a folder holding config.json.',
    );
  }
  return id;
}

function checkRevision(revision: string): string {
  // Branches may contain '/' (refs/pr/1); the Hub wants them percent-encoded as one path segment.
  if (revision === '' || /[\s\u0000-\u001f\u007f]/.test(revision) || revision.split('/').includes('..')) {
    throw invalid(`"${revision}" is not a revision: give a branch ("main"), a tag or a commit hash.`);
  }
  return revision;
}

/** Authorization headers for a token; blank means none. Checked so a pasted newline fails clearly. */
export function authHeaders(token?: string): Record<string, string> {
  const t = token?.trim() ?? '';
  if (t === '') return {};
  if (!/^[\x21-\x7e]+$/.test(t)) {
    throw invalid('The Hugging Face token contains spaces or unusual characters; paste it again (it looks like "hf_…").');
  }
  return { Authorization: `Bearer ${t}` };
}

/** `https://huggingface.co/{id}/resolve/{revision}/`: the Hub's raw-file layout. */
export function hubBaseUrl(id: string, revision = 'main'): string {
  return `${HUB_ORIGIN}/${checkHubId(id)}/resolve/${encodeURIComponent(checkRevision(revision))}/`;
}

export function hubModel(id: string, opts: { revision?: string; token?: string } = {}): RemoteModel {
  const revision = opts.revision?.trim() || 'main';
  const baseUrl = hubBaseUrl(id, revision);
  return { kind: 'url', id: `hf:${id}@${revision}`, label: revision === 'main' ? id : `${id}@${revision}`, baseUrl, headers: authHeaders(opts.token) };
}

/** A base URL as given (query and fragment dropped), with the trailing slash file names are joined to. */
export function urlModel(url: string, opts: { token?: string } = {}): RemoteModel {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw invalid(`"${url}" is not a URL. Give an http(s) URL of a folder holding config.json, or a Hub id "owner/name".`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(`"${url}" is not an http(s) URL; models are fetched over http(s).`);
  }
  parsed.hash = '';
  parsed.search = '';
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  const baseUrl = parsed.href;
  return { kind: 'url', id: `url:${baseUrl}`, label: baseUrl, baseUrl, headers: authHeaders(opts.token) };
}

/**
 * What a user types: "owner/name", a Hub page URL (https://huggingface.co/owner/name[/tree/rev]) or any
 * http(s) base URL. A Hub page is not a file folder, so it is turned into its `resolve/` form.
 */
export function resolveModel(input: string, opts: { revision?: string; token?: string } = {}): RemoteModel {
  const text = input.trim();
  if (!/^https?:\/\//i.test(text)) return hubModel(text, opts);
  const page = /^https:\/\/huggingface\.co\/([^/?#]+\/[^/?#]+)(?:\/tree\/([^?#]+?))?\/?(?:[?#].*)?$/.exec(text);
  if (page && isHubId(page[1])) {
    const revision = opts.revision ?? (page[2] ? decodeURIComponent(page[2]) : undefined);
    return hubModel(page[1], { revision, token: opts.token });
  }
  return urlModel(text, opts);
}

/**
 * Picked files, keyed by their path below the chosen folder (webkitRelativePath minus its first part)
 * so shards in the folder are found by the names the index gives them.
 */
export function localModel(files: Iterable<File>, label?: string): LocalModel {
  const map = new Map<string, Blob>();
  let folder = '';
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
    const parts = rel.split('/').filter(Boolean);
    if (parts.length > 1 && !folder) folder = parts[0];
    map.set(parts.length > 1 ? parts.slice(1).join('/') : f.name, f);
  }
  if (!map.has('config.json')) {
    throw new QloraError('CONFIG_INVALID', 'The chosen files have no config.json: pick the model folder (config.json, tokenizer.json, tokenizer_config.json, model.safetensors or its shards).');
  }
  // The picked files' names and sizes identify the cache entry: the same folder picked again resumes.
  const name = label ?? (folder || 'local model');
  const weightsBytes = [...map].filter(([n]) => n.endsWith('.safetensors')).reduce((s, [, b]) => s + b.size, 0);
  return { kind: 'files', id: `local:${name.replace(/[#|]/g, '_')}:${weightsBytes}`, label: name, files: map };
}
