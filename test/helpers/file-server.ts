// A local http server for the io tests, serving folders in the Hub layout the way huggingface.co does
// (Content-Length, CORS, a strong ETag, Range → 206 for `bytes=N-` and `bytes=N-M` unless If-Range
// names another ETag) plus the ways real connections and servers fail: dropped mid-body, Range
// ignored, a range answered with the wrong bytes, no Content-Length, a token required, redirects
// (loops too), bodies of the test's own (a file that changes, a gzip bomb). Behaviour is switched per
// test through `behavior`. It also speaks the Hub's write API (hub-write-api.ts: create a repo, commit,
// Git LFS) for pushing adapters, with the tokens a test puts in `hub.tokens`.
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { handleHubWrite, newHubWriteApi } from './hub-write-api';
import type { HubWriteApi } from './hub-write-api';

export interface ServerBehavior {
  /** Drop the connection of .safetensors requests once this file offset has been sent… */
  dropAtOffset?: number;
  /** …for this many requests (unset: every request, so the file is never served whole)… */
  dropTimes?: number;
  /** …of files whose path ends with this (unset: every .safetensors file). */
  dropPath?: string;
  /** Instead of dropping, keep the connection open and send nothing more (a stalled link). */
  stall?: boolean;
  /** Answer this status (e.g. 503) to the next `failTimes` requests. */
  failStatus?: number;
  failTimes?: number;
  /** Answer 200 with the whole file even when a Range is asked for. */
  ignoreRange?: boolean;
  /** Chunked transfer, no Content-Length (a gzip-ing proxy looks like this). */
  noLength?: boolean;
  /** Require `Authorization: Bearer <token>` (401 without, 403 with another token). */
  token?: string;
  /** Drop every request that carries If-Range (as a browser fails one whose CORS preflight refuses the header). */
  refuseIfRange?: boolean;
  /** Send no ETag (nothing to resume on). */
  noEtag?: boolean;
  /** Answer a Range with 206 and a correct Content-Range, but the bytes from offset 0 (a broken proxy); If-Range is ignored. */
  spliceRange?: boolean;
  /** Redirect these paths (with these headers, e.g. X-Linked-Etag as the Hub's resolve/ does). */
  redirects?: Record<string, { to: string; headers?: Record<string, string> }>;
  /** A body of the test's own for a path (checked before the folders): a file that changes between requests, a compressed one; its headers win. */
  body?(path: string): { data: Buffer; headers?: Record<string, string> } | undefined;
}

export interface RequestRecord {
  path: string;
  range: string | null;
  ifRange: string | null;
  authorization: string | null;
  status: number;
}

export interface FileServer {
  base: string;
  behavior: ServerBehavior;
  requests: RequestRecord[];
  /** The repos pushed to this server and the tokens that may write them. */
  hub: HubWriteApi;
  close(): Promise<void>;
}

/** `folders`: URL prefix → directory, e.g. { 'llama': '/…/tiny-llama' } serves /llama/config.json. */
export async function startFileServer(folders: Record<string, string>): Promise<FileServer> {
  const state: FileServer = { base: '', behavior: {}, requests: [], hub: newHubWriteApi(), close: async () => undefined };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const [, prefix, ...rest] = path.split('/');
    const h = req.headers;
    const record: RequestRecord = { path, range: h.range ?? null, ifRange: (h['if-range'] as string | undefined) ?? null, authorization: h.authorization ?? null, status: 0 };
    state.requests.push(record);
    const send = (status: number, headers: Record<string, string | number> = {}) => {
      record.status = status;
      res.writeHead(status, { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'content-length, content-range, etag, x-linked-etag', ...headers });
    };
    if (req.method === 'OPTIONS') {
      send(204, { 'access-control-allow-headers': 'authorization, range, if-range, content-type, x-request-id', 'access-control-allow-methods': 'GET, POST, PUT' });
      return res.end();
    }
    if (handleHubWrite(state.hub, req, res, path, state.base)) return;
    const b = state.behavior;
    if (b.token !== undefined) {
      const auth = req.headers.authorization;
      if (!auth) return send(401), res.end('{"error":"Access to model is restricted"}');
      if (auth !== `Bearer ${b.token}`) return send(403), res.end('{"error":"forbidden"}');
    }
    if (b.failStatus !== undefined && (b.failTimes ?? 0) > 0) {
      b.failTimes = (b.failTimes ?? 0) - 1;
      return send(b.failStatus), res.end('busy');
    }
    if (b.refuseIfRange && h['if-range'] !== undefined) return void req.socket.destroy();
    const redirect = b.redirects?.[path];
    if (redirect) return send(302, { location: redirect.to, ...redirect.headers }), res.end();
    const own = b.body?.(path);
    const dir = folders[prefix];
    let body: Buffer;
    try {
      if (own) body = own.data;
      else if (!dir || rest.some((p) => p === '..')) throw new Error('outside');
      else body = readFileSync(join(dir, ...rest));
    } catch {
      return send(404), res.end('Entry not found');
    }
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    const extra: Record<string, string> = { ...(b.noEtag ? {} : { etag }), ...own?.headers };
    const ifRange = req.headers['if-range'];
    const sameFile = ifRange === undefined || ifRange === etag || b.spliceRange;
    let start = 0;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && sameFile && !b.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) return send(416, { 'content-range': `bytes */${body.length}` }), res.end();
      // A bounded range (hyparquet reads a Parquet file in pieces) is served as a body of its own.
      const total = body.length;
      if (m[2] !== '') body = body.subarray(0, Math.min(total, Number(m[2]) + 1));
      send(206, { ...extra, 'content-range': `bytes ${start}-${body.length - 1}/${total}`, ...(b.noLength ? {} : { 'content-length': body.length - start }) });
      // What follows sends body[start…]: put the file's first bytes there instead.
      if (b.spliceRange) body = Buffer.concat([Buffer.alloc(start), body.subarray(0, body.length - start)]);
    } else {
      send(200, { ...(b.noLength ? {} : { 'content-length': body.length }), ...extra });
    }
    const drop = b.dropAtOffset !== undefined && (b.dropTimes ?? 1) > 0 && path.endsWith(b.dropPath ?? '.safetensors');
    if (!drop) return res.end(body.subarray(start));
    if (b.dropTimes !== undefined) b.dropTimes--;
    const stop = Math.max(start, b.dropAtOffset as number);
    // Flush what is sent before the cut, then kill the socket mid-body as a lost connection would.
    res.write(body.subarray(start, stop), () => (b.stall ? undefined : setTimeout(() => res.destroy(), 20)));
  };
  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  state.base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
