// comlink's default throw handler keeps only message/name/stack; this one keeps the QloraError code and
// details too, so the page can pick its action (resume after DEVICE_LOST, lower the lr after NUMERIC…).
// Registered on both sides of the worker boundary.
import * as Comlink from 'comlink';
import { QloraError, isQloraError } from '../errors';
import type { QloraErrorCode } from '../errors';

interface SerializedError {
  isError: true;
  value: { name: string; message: string; stack?: string; code?: QloraErrorCode; details?: unknown };
}

function toPlain(details: unknown): unknown {
  try {
    return structuredClone(details);
  } catch {
    return undefined;
  }
}

export function registerErrorTransfer(): void {
  // comlink does not export its "thrown" marker; reuse its own test for thrown values.
  const builtin = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: (v: unknown): v is SerializedError => builtin.canHandle(v),
    serialize(v: unknown) {
      const err = (v as { value: unknown }).value;
      if (isQloraError(err)) {
        return [{ isError: true, value: { name: err.name, message: err.message, stack: err.stack, code: err.code, details: toPlain(err.details) } }, []];
      }
      if (err instanceof Error) return [{ isError: true, value: { name: err.name, message: err.message, stack: err.stack } }, []];
      return [{ isError: false, value: err }, []];
    },
    deserialize(s: unknown) {
      const { isError, value } = s as SerializedError | { isError: false; value: unknown };
      if (!isError) throw value;
      const v = (value as SerializedError['value']);
      if (v.code) throw Object.assign(new QloraError(v.code, v.message, v.details), { stack: v.stack });
      throw Object.assign(new Error(v.message), { name: v.name, stack: v.stack });
    },
  } as Comlink.TransferHandler<unknown, unknown>);
}
