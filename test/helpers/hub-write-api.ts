// The Hub's write API as @huggingface/hub calls it (createRepo, then commit's preupload → Git LFS batch
// → PUT → commit), for the file server (file-server.ts) to answer beside its downloads: repos kept in
// memory, tokens that may write to some namespaces, and the Hub's refusals (401 for an unknown token,
// 403 for a namespace the token cannot write, 409 for a repo that exists). Files are "regular" (base64
// in the commit) except *.safetensors and anything over 10 MB, which go through LFS as on the Hub.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface StoredRepo {
  readonly files: Map<string, Buffer>;
  readonly commits: { title: string; files: string[] }[];
  readonly private: boolean;
}

export interface HubWriteApi {
  /** Token → the namespaces it may write to. A token not listed is refused with 401. */
  tokens: Record<string, string[]>;
  /** "owner/name" → the repo. */
  repos: Map<string, StoredRepo>;
  /** LFS objects by sha256, as PUT by the client. */
  lfs: Map<string, Buffer>;
}

export const newHubWriteApi = (): HubWriteApi => ({ tokens: {}, repos: new Map(), lfs: new Map() });

const LFS_MIN_BYTES = 10 * 2 ** 20;
const isLfs = (path: string, size: number) => path.endsWith('.safetensors') || size >= LFS_MIN_BYTES;

async function body(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of req) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/**
 * Answers `req` when it is a Hub write call (and returns true); false leaves it to the file server.
 * `base` is the server's own address, for the LFS upload URLs it hands out.
 */
export function handleHubWrite(api: HubWriteApi, req: IncomingMessage, res: ServerResponse, path: string, base: string): boolean {
  const create = path === '/api/repos/create';
  const repoCall = /^\/api\/models\/([^/]+\/[^/]+)\/(preupload|commit)\/([^/]+)$/.exec(path);
  const batch = /^\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path);
  const upload = /^\/lfs-upload\/([0-9a-f]{64})$/.exec(path);
  if (req.method !== 'POST' && req.method !== 'PUT') return false;
  if (!create && !repoCall && !batch && !upload) return false;
  const json = (status: number, value: unknown, type = 'application/json') => {
    res.writeHead(status, { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'etag, x-request-id', 'content-type': type });
    res.end(JSON.stringify(value));
  };
  void (async () => {
    const data = await body(req);
    if (upload) {
      // The upload URL is the Hub's pre-signed storage URL: no token, the oid is checked against the bytes.
      const oid = upload[1];
      if (createHash('sha256').update(data).digest('hex') !== oid) return json(400, { error: 'sha256 mismatch' });
      api.lfs.set(oid, data);
      return json(200, {});
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const namespaces = token !== undefined ? api.tokens[token] : undefined;
    if (!namespaces) return json(401, { error: 'Invalid credentials in Authorization header' });
    const canWrite = (repo: string) => namespaces.includes(repo.split('/')[0]);
    if (create) {
      const p = JSON.parse(data.toString()) as { name: string; organization?: string; visibility?: string; type?: string };
      const id = `${p.organization}/${p.name}`;
      if (api.repos.has(id)) return json(409, { error: 'You already created this model repo', url: `${base}${id}` });
      if (!canWrite(id)) return json(403, { error: `You don't have the rights to create a model under the namespace "${p.organization}"` });
      api.repos.set(id, { files: new Map(), commits: [], private: p.visibility === 'private' });
      return json(200, { url: `${base}${id}`, name: id });
    }
    const id = (repoCall ?? batch)![1];
    const repo = api.repos.get(id);
    if (!repo) return json(404, { error: 'Repository not found' });
    if (!canWrite(id)) return json(403, { error: `You don't have write access to ${id}` });
    if (batch) {
      const p = JSON.parse(data.toString()) as { objects: { oid: string; size: number }[] };
      return json(200, {
        transfer: 'basic',
        objects: p.objects.map((o) => ({ ...o, ...(api.lfs.has(o.oid) ? {} : { actions: { upload: { href: `${base}lfs-upload/${o.oid}` } } }) })),
      }, 'application/vnd.git-lfs+json');
    }
    if (repoCall![2] === 'preupload') {
      const p = JSON.parse(data.toString()) as { files: { path: string; size: number }[] };
      return json(200, { files: p.files.map((f) => ({ path: f.path, uploadMode: isLfs(f.path, f.size) ? 'lfs' : 'regular' })) });
    }
    // The commit: NDJSON of a header and one line per file (base64 content, or an LFS pointer).
    const lines = data.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; value: Record<string, string> });
    const files: [string, Buffer][] = [];
    for (const { key, value } of lines) {
      if (key === 'file') files.push([value.path, Buffer.from(value.content, 'base64')]);
      else if (key === 'lfsFile') {
        const object = api.lfs.get(value.oid);
        if (!object) return json(422, { error: `LFS object ${value.oid} of ${value.path} was never uploaded` });
        files.push([value.path, object]);
      }
    }
    for (const [p, b] of files) repo.files.set(p, b);
    const title = lines.find((l) => l.key === 'header')?.value.summary ?? '';
    repo.commits.push({ title, files: files.map(([p]) => p) });
    const oid = createHash('sha1').update(data).digest('hex');
    return json(200, { commitOid: oid, commitUrl: `${base}${id}/commit/${oid}` });
  })().catch((e) => json(500, { error: String(e) }));
  return true;
}
