// Sharing an adapter: its folder (adapter_config.json, adapter_model.safetensors, README.md — the model
// card) committed to a Hugging Face Hub model repo through @huggingface/hub, from the page and from
// `qlora push`. The repo is created when it does not exist and reused when it does (the Hub answers
// 409 to creating it again). The token is used for these requests only: nothing here keeps or logs it.
// The Hub's refusals (401, 403, 404) become QloraErrors that say what to do, in place of the library's
// "Api error with status 403. URL: …".
import { createRepo, HubApiError, uploadFilesWithProgress } from '@huggingface/hub';
import { QloraError } from '../errors';
import { HUB_ORIGIN, isHubId } from './hub';

export interface HubPushRequest {
  /** owner/name: the account or organisation the token can write to, and the repo's name. */
  readonly repo: string;
  /** A Hugging Face access token with write access (hf_…). */
  readonly token: string;
  /** File name → bytes, committed at the repo's root. */
  readonly files: Readonly<Record<string, Uint8Array>>;
  /** The Hub's address (huggingface_hub's HF_ENDPOINT); https://huggingface.co by default. */
  readonly endpoint?: string;
  /** Create the repo private (only when it is new; an existing repo keeps its visibility). */
  readonly private?: boolean;
  readonly commitTitle?: string;
  readonly onProgress?: (p: HubPushProgress) => void;
}

/** What the push is doing: the phase, and while uploading, the bytes of the files sent so far. */
export interface HubPushProgress {
  readonly phase: 'creating' | 'preuploading' | 'uploading' | 'committing' | 'done';
  readonly sentBytes: number;
  readonly totalBytes: number;
}

export interface HubPushResult {
  readonly repo: string;
  /** The repo's page, e.g. https://huggingface.co/owner/name. */
  readonly url: string;
  /** The commit's page, when the Hub returned one. */
  readonly commitUrl: string | null;
  /** True when this push created the repo. */
  readonly created: boolean;
  readonly files: readonly string[];
}

/** `owner/name` checked as the Hub checks it, with what to type when it is not. */
export function checkRepoId(repo: string): string {
  const id = repo.trim().replace(/^(https?:\/\/)?(www\.)?(huggingface\.co|hf\.co)\//, '').replace(/\/+$/, '');
  if (!isHubId(id)) {
    throw new QloraError('ARGUMENT_INVALID', `"${repo}" is not a Hub repo name: give owner/name (your user name or an organisation you can write to, a slash, and the adapter's name: letters, digits, '-', '_', '.'), e.g. alice/smollm2-alpaca-lora.`);
  }
  return id;
}

/**
 * The Hub's refusal in words a person acts on. `step` says what was being done ("create", "upload"),
 * since a 403 on creating means the namespace, and on uploading the repo.
 */
export function hubPushError(e: unknown, repo: string, step: 'create' | 'upload'): QloraError {
  if (!(e instanceof HubApiError)) {
    const msg = e instanceof Error ? e.message : String(e);
    return new QloraError('NETWORK', `Could not reach the Hub to push ${repo}: ${msg}. Check your connection (or the Hub address), then try again.`);
  }
  const said = e.message.replace(/\.? ?URL: .*$/s, '').trim();
  const owner = repo.split('/')[0];
  switch (e.statusCode) {
    case 401:
      return new QloraError('NETWORK', `The Hub refused the token (401 Unauthorized): it is not a valid Hugging Face token. Check that it is complete and not revoked, or make a new one with write access at huggingface.co/settings/tokens.`);
    case 403:
      return new QloraError('NETWORK', step === 'create'
        ? `The token cannot create repos under "${owner}" (403 Forbidden). Use a token with write access (a classic "write" token, or a fine-grained one allowed to create repos there), or push to your own account's namespace.`
        : `The token cannot write to ${repo} (403 Forbidden): it is read-only, or a fine-grained token without write access to this repo. Make a token with write access at huggingface.co/settings/tokens, or push to a repo you own.`);
    case 404:
      return new QloraError('NETWORK', `The Hub has no repo ${repo} this token can see (404). Check the owner and name, and that the token belongs to that account or organisation.`);
    default:
      return new QloraError('NETWORK', `The Hub answered ${e.statusCode} while ${step === 'create' ? 'creating' : 'uploading to'} ${repo}${said ? `: ${said}` : ''}. Try again in a moment.`);
  }
}

/** Creates the repo unless it exists; true when it was created. */
async function ensureRepo(req: HubPushRequest, repo: string, hubUrl: string): Promise<boolean> {
  try {
    // Unticked: no visibility sent, so an organisation's default (private, for some) applies.
    await createRepo({ repo: { type: 'model', name: repo }, accessToken: req.token, hubUrl, ...(req.private ? { visibility: 'private' as const } : {}) });
    return true;
  } catch (e) {
    // 409: "You already created this model repo": an existing repo takes the new commit.
    if (e instanceof HubApiError && e.statusCode === 409) return false;
    throw hubPushError(e, repo, 'create');
  }
}

export async function pushToHub(req: HubPushRequest): Promise<HubPushResult> {
  const repo = checkRepoId(req.repo);
  const token = req.token.trim();
  if (!token) throw new QloraError('ARGUMENT_INVALID', 'Pushing to the Hub needs a Hugging Face token with write access (make one at huggingface.co/settings/tokens).');
  const hubUrl = (req.endpoint ?? HUB_ORIGIN).replace(/\/+$/, '');
  const names = Object.keys(req.files);
  const sizes = new Map(names.map((n) => [n, req.files[n].byteLength]));
  const totalBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  const report = (phase: HubPushProgress['phase'], sentBytes: number) => req.onProgress?.({ phase, sentBytes, totalBytes });

  report('creating', 0);
  const created = await ensureRepo({ ...req, token }, repo, hubUrl);
  const sent = new Map<string, number>();
  const sentBytes = () => [...sent.values()].reduce((a, b) => a + b, 0);
  let commitUrl: string | null = null;
  try {
    const it = uploadFilesWithProgress({
      repo: { type: 'model', name: repo },
      accessToken: token,
      hubUrl,
      // Plain Git LFS (basic transfer), which every Hub and mirror speaks; Xet would need its own CAS service.
      useXet: false,
      commitTitle: req.commitTitle ?? 'Upload LoRA adapter',
      files: names.map((path) => ({ path, content: new Blob([req.files[path] as Uint8Array<ArrayBuffer>]) })),
    });
    for (;;) {
      const ev = await it.next();
      if (ev.done) {
        commitUrl = ev.value?.commit.url ?? null;
        break;
      }
      const e = ev.value;
      if (e.event === 'phase') report(e.phase === 'uploadingLargeFiles' ? 'uploading' : e.phase, sentBytes());
      else if (e.state === 'uploading') {
        sent.set(e.path, Math.round(e.progress * (sizes.get(e.path) ?? 0)));
        report('uploading', sentBytes());
      }
    }
  } catch (e) {
    throw hubPushError(e, repo, 'upload');
  }
  report('done', totalBytes);
  return { repo, url: `${hubUrl}/${repo}`, commitUrl, created, files: names };
}

/**
 * The model card with `license: <id>` in its YAML front matter (added, or replacing one there): the
 * Hub shows it on the repo page and filters by it. A card without front matter gets one.
 */
export function cardWithLicense(card: string, license: string): string {
  const id = license.trim();
  if (!/^[\w.+-]+$/.test(id)) throw new QloraError('ARGUMENT_INVALID', `"${license}" is not a license id: give the Hub's id, e.g. apache-2.0, mit, llama3.2, other.`);
  const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
  if (!m) return `---\nlicense: ${id}\n---\n${card}`;
  const lines = m[1].split('\n').filter((l) => !/^license:/.test(l));
  return `---\nlicense: ${id}\n${lines.join('\n')}\n---\n${card.slice(m[0].length)}`;
}
