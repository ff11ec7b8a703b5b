// One error type for the whole project. The `code` survives the worker boundary (see
// src/worker/errors-transfer.ts) so the UI can pick an action from it; the message says what was
// expected, what was found and what to do.

export type QloraErrorCode =
  | 'WEBGPU_UNAVAILABLE' // no adapter / no navigator.gpu
  | 'ADAPTER_LIMITS' // the adapter's limits are too small for the model
  | 'OUT_OF_MEMORY' // a GPU allocation failed
  | 'DEVICE_LOST' // the GPU device was lost mid-run
  | 'WEIGHTS_CORRUPT' // a safetensors file is malformed, truncated or inconsistent
  | 'CONFIG_INVALID' // config.json / adapter_config.json unsupported or malformed
  | 'DATASET_INVALID' // records that cannot be turned into training examples
  | 'TOKENIZER_INVALID' // tokenizer files missing or malformed
  | 'ADAPTER_INVALID' // an adapter that does not fit the model, or whose file (zip, safetensors) is damaged
  | 'ARGUMENT_INVALID' // bad option / setting given by the user
  | 'NETWORK' // a download failed
  | 'STORAGE' // IndexedDB / quota problems
  | 'NUMERIC' // NaN / Inf in the loss
  | 'INTERNAL'; // a bug: should never be seen

export class QloraError extends Error {
  override readonly name = 'QloraError';
  constructor(
    readonly code: QloraErrorCode,
    message: string,
    /** Structured details for the UI (e.g. the list of bad dataset rows). */
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function isQloraError(e: unknown): e is QloraError {
  return e instanceof Error && (e as QloraError).name === 'QloraError' && typeof (e as QloraError).code === 'string';
}
