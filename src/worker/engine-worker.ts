// The page's engine worker: transport only. One EngineSession (app-core/session.ts) made with the
// browser's parts — WebGPU from navigator.gpu, models cached and runs checkpointed in IndexedDB, the
// storage estimate from navigator.storage — exposed to the page through comlink as EngineApi, with
// the large results handed over (transferred) instead of copied.
import * as Comlink from 'comlink';
import { QloraError } from '../errors';
import { registerErrorTransfer } from './errors-transfer';
import { idbStore } from '../io/kv-store';
import { EngineSession } from '../app-core/session';
import type { SessionHost } from '../app-core/session';
import { runStoreOver } from '../app-core/run-store';

registerErrorTransfer();

const browserHost: SessionHost = {
  async requestAdapter() {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) {
      throw new QloraError('WEBGPU_UNAVAILABLE', 'This browser does not offer WebGPU. Use a recent Chrome, Edge or Safari (WebGPU on), or Firefox Nightly; on Linux Chrome may need chrome://flags/#enable-unsafe-webgpu.');
    }
    return gpu.requestAdapter({ powerPreference: 'high-performance' });
  },
  gpuOptions: { pacedSubmission: true }, // the page shares this GPU
  models: idbStore(),
  runs: runStoreOver(idbStore('qlora-runs', 'runs')),
  async storageEstimate() {
    const est = await navigator.storage?.estimate?.().catch(() => null);
    const persisted = (await navigator.storage?.persisted?.().catch(() => false)) ?? false;
    return { usage: est?.usage ?? null, quota: est?.quota ?? null, persisted };
  },
};

/** The session, with its byte results transferred to the page rather than cloned. */
class WorkerEngine extends EngineSession {
  override async exportAdapter() {
    const r = await super.exportAdapter();
    return Comlink.transfer(r, [r.zip.buffer as ArrayBuffer]);
  }

  override async exportMerged(dtype: 'F16' | 'BF16') {
    const files = await super.exportMerged(dtype);
    return Comlink.transfer(files, files.map((f) => f.bytes.buffer as ArrayBuffer));
  }

  override async exportGguf() {
    const r = await super.exportGguf();
    return Comlink.transfer(r, [r.bytes.buffer as ArrayBuffer]);
  }

  override async readAdapterZip(zip: Uint8Array, zipName: string) {
    const entries = await super.readAdapterZip(zip, zipName);
    return Comlink.transfer(entries, [...entries.values()].map((b) => b.buffer as ArrayBuffer));
  }
}

Comlink.expose(new WorkerEngine(browserHost));
