// The main thread's handle on the engine worker: a comlink proxy typed by EngineApi. All GPU work
// happens in the worker, so the page stays responsive while training.
import * as Comlink from 'comlink';
import type { EngineApi } from './protocol';
import { registerErrorTransfer } from './errors-transfer';

export function connectEngine(): Comlink.Remote<EngineApi> {
  registerErrorTransfer();
  const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'qlora-engine' });
  return Comlink.wrap<EngineApi>(worker);
}

export { Comlink };
