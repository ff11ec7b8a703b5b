// The most bytes a text or JSON file of each kind may have before it is read whole (JSON.parse, a
// string). A hostile or mistaken file must fail with a message, not take the tab or the process down:
// a 200 MB nested-array tokenizer.json costs JSON.parse about 8 GB, a gzip bomb never ends. Each cap
// sits far above the largest real file of its kind, named on its line. Sizes are counted after
// decompression, as the bytes arrive (download.ts), so a gzip-encoded body is cut at the cap too.
// Weight files (.safetensors) are streamed, never read whole, and have no cap here.
import { QloraError, type QloraErrorCode } from '../errors';

export interface SizeLimit {
  /** What the file is, for the message. */
  readonly what: string;
  readonly bytes: number;
  /** The error a file over the cap is. */
  readonly code: QloraErrorCode;
  /** What to do about a file past the cap. */
  readonly action: string;
}

const MiB = 1 << 20;
const notModelFile = 'No real one is that large: the server sent something else (a compressed archive, an error page, a hostile file). Check the address and the file.';

export const SIZE_LIMITS = {
  config: { what: 'config.json', bytes: 4 * MiB, code: 'CONFIG_INVALID', action: notModelFile }, // real ones: a few kB (50 kB with a quantization config)
  tokenizer: { what: 'tokenizer.json', bytes: 64 * MiB, code: 'TOKENIZER_INVALID', action: notModelFile }, // Gemma 3's, the largest common one: 33 MB
  tokenizerConfig: { what: 'tokenizer_config.json', bytes: 16 * MiB, code: 'TOKENIZER_INVALID', action: notModelFile }, // Gemma 3's, with 6,000 added tokens: 1.2 MB
  chatTemplate: { what: 'chat_template.jinja', bytes: 1 * MiB, code: 'TOKENIZER_INVALID', action: notModelFile }, // real ones: under 20 kB
  shardIndex: { what: 'model.safetensors.index.json', bytes: 32 * MiB, code: 'WEIGHTS_CORRUPT', action: notModelFile }, // DeepSeek-V3's (91,000 tensors): 9 MB
  dataset: { what: 'a dataset file', bytes: 512 * MiB, code: 'DATASET_INVALID', action: 'Split the file into smaller ones, or convert it to Parquet and read a part of it (--limit N, or "Use only the first N records" in the page).' }, // a JS string holds at most 2^29 UTF-16 units: larger text cannot be read whole anyway
} as const satisfies Record<string, SizeLimit>;

/** The cap of a model folder's text file by its name; null for files streamed (weights) or not capped. */
export function modelFileLimit(name: string): SizeLimit | null {
  switch (name) {
    case 'config.json':
      return SIZE_LIMITS.config;
    case 'tokenizer.json':
      return SIZE_LIMITS.tokenizer;
    case 'tokenizer_config.json':
      return SIZE_LIMITS.tokenizerConfig;
    case 'chat_template.jinja':
      return SIZE_LIMITS.chatTemplate;
    case 'model.safetensors.index.json':
      return SIZE_LIMITS.shardIndex;
    default:
      return null;
  }
}

function mib(bytes: number): string {
  return bytes >= MiB ? `${+(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}

/**
 * The error for a file past its cap. `found` is its size when known (declared, or on disk), else null:
 * the cap was passed while it streamed (a body without Content-Length, or a compressed one).
 */
export function tooLarge(limit: SizeLimit, where: string, found: number | null): QloraError {
  const size = found === null ? `more than ${mib(limit.bytes)} (counted as it arrived, after decompression)` : mib(found);
  return new QloraError(
    limit.code,
    `${where} is ${size}; ${limit.what} may be at most ${mib(limit.bytes)}. ${limit.action}`,
    { where, limit: limit.bytes, found },
  );
}

/** Throws tooLarge when `bytes` passes the cap. */
export function checkSize(limit: SizeLimit, where: string, bytes: number): void {
  if (bytes > limit.bytes) throw tooLarge(limit, where, bytes);
}
