// A model's files as the acquisition reads them, the same for an http(s) base URL and for files the
// user picked: small text files whole, weight files streamed into a sink from an offset (so a resumed
// run can skip what it has). "Does not exist" is an answer here, not an error, because the caller
// probes (model.safetensors, else the shard index).
import { QloraError, isQloraError } from '../errors';
import { concatChunks as concat, downloadFile, fileUrl, readBlob, type ChunkSink } from './download';
import type { LocalModel, ModelLocation, RemoteModel } from './hub';
import { checkSize, modelFileLimit } from './size-limits';

export interface FetchOptions {
  signal?: AbortSignal;
  retries?: number;
  retryDelayMs?: number;
}

/** How files are fetched, the same for a URL and for picked files. */
export interface ModelFiles {
  readonly location: string;
  /** A text file whole, within its size cap (size-limits.ts). */
  text(name: string, required: boolean): Promise<string | null>;
  /**
   * Streams the file into `sink` from `offset`, if it is still the file `ifRange` (the validator
   * sink.start gave) names; else from 0. 'missing' when the file does not exist.
   */
  stream(name: string, sink: ChunkSink, offset: number, ifRange?: string | null): Promise<'done' | 'missing'>;
}

const decoder = new TextDecoder();

function isNotFound(e: unknown): boolean {
  return isQloraError(e) && e.code === 'NETWORK' && (e.details as { status?: number } | undefined)?.status === 404;
}

export function remoteFiles(model: RemoteModel, opts: FetchOptions): ModelFiles {
  const url = (name: string) => fileUrl(model.baseUrl, name);
  const common = { headers: model.headers, signal: opts.signal, retries: opts.retries, retryDelayMs: opts.retryDelayMs };
  return {
    location: model.baseUrl,
    async text(name, required) {
      const parts: Uint8Array[] = [];
      const sink: ChunkSink = { write: (c) => void parts.push(c.slice()), reset: () => void (parts.length = 0) };
      try {
        await downloadFile(url(name), { ...common, sink, limit: modelFileLimit(name) ?? undefined });
      } catch (e) {
        if (!required && isNotFound(e)) return null;
        throw e;
      }
      return decoder.decode(concat(parts));
    },
    async stream(name, sink, offset, ifRange) {
      try {
        await downloadFile(url(name), { ...common, sink, resumeFrom: offset, ifRange });
        return 'done';
      } catch (e) {
        if (offset === 0 && isNotFound(e)) return 'missing';
        throw e;
      }
    },
  };
}

export function localFiles(model: LocalModel, opts: FetchOptions): ModelFiles {
  return {
    location: `${model.label}/`,
    async text(name, required) {
      const blob = model.files.get(name);
      const limit = modelFileLimit(name);
      if (blob && limit) checkSize(limit, `${model.label}/${name}`, blob.size);
      if (blob) return blob.text();
      if (!required) return null;
      throw new QloraError('CONFIG_INVALID', `The chosen files have no ${name}; a model folder needs config.json, tokenizer.json, tokenizer_config.json and model.safetensors (or its shards).`);
    },
    async stream(name, sink, offset) {
      const blob = model.files.get(name);
      if (!blob) return 'missing';
      await readBlob(blob, { sink, signal: opts.signal, resumeFrom: offset });
      return 'done';
    },
  };
}

export function modelFiles(location: ModelLocation, opts: FetchOptions): ModelFiles {
  return location.kind === 'url' ? remoteFiles(location, opts) : localFiles(location, opts);
}
