// Training runs from the page's side: start (loading whatever is missing first), pause / resume /
// stop, following the run's steps, states and checkpoints into the state, and resuming a stored run
// from its last checkpoint — after a reload, a stop or a GPU reset.
import * as Comlink from 'comlink';
import { DEFAULT_SETTINGS, validateSettings } from '../engine/run-settings';
import type { RunSettings } from '../engine/run-settings';
import type { RunState } from '../engine/training-run';
import { QloraError, isQloraError } from '../errors';
import type { RunListener, RunRecord, StepEvent } from '../worker/protocol';
import { fetchAdapter } from './adapter-files';
import { sourceFromSetting } from './model-source';
import { ACTIVE, EMPTY_RUN } from './state';
import type { RunView } from './state';
import type { App } from './app';

export class RunControl {
  constructor(private readonly app: App) {}

  private listener(): RunListener {
    return Comlink.proxy({
      onPhase: (phase: string) => this.app.store.set({ run: { ...this.app.store.get().run, phase } }),
      onStep: (e: StepEvent) => this.onStep(e),
      onState: (st: RunState) => this.onRunState(st),
      onCheckpoint: (step: number) => {
        this.app.store.set({ run: { ...this.app.store.get().run, checkpointStep: step } });
        for (const fn of this.app.checkpointListeners) fn(step);
      },
    });
  }

  private onStep(e: StepEvent): void {
    const run = this.app.store.get().run;
    const { totalSteps, elapsedMs, tokensPerSecond, ...point } = e;
    // History grows in place (copying it every step would be quadratic); a step sent again (with
    // its validation loss) replaces the earlier point.
    const last = run.history[run.history.length - 1];
    if (last && last.step === point.step) run.history[run.history.length - 1] = { ...last, ...point };
    else run.history.push(point);
    this.app.store.set({ run: { ...run, step: e.step, totalSteps, elapsedMs, tokensPerSecond, lastEventAt: performance.now(), phase: null, firstSessionStep: run.firstSessionStep ?? e.step } });
  }

  private onRunState(state: RunState): void {
    if (!ACTIVE.includes(state)) this.stopping = false;
    const run = { ...this.app.store.get().run, state, lastEventAt: performance.now() };
    const s = this.app.store.get();
    this.app.store.set({ run, phase: s.phase === 'loading' || s.phase === 'error' ? s.phase : ACTIVE.includes(state) ? 'training' : 'done' });
  }

  canStart(): boolean {
    const s = this.app.store.get();
    if (this.app.running() || s.phase === 'loading' || this.app.hasInvalidFields()) return false;
    // The estimate is cleared when the model or a field changes and redone for the current settings,
    // so one that says "does not fit" is about this run, whether made from the weights or config.json.
    return !(s.memory && !s.memory.fits);
  }

  private async initAdapterFor(settings: RunSettings): Promise<{ config: string; weights: Uint8Array } | null> {
    const s = this.app.store.get();
    if (s.continueFromImported && s.imported) return { config: s.imported.config, weights: s.imported.weights };
    if (!settings.initAdapter) return null;
    this.app.store.set({ busy: 'Downloading the starting adapter' });
    const a = await fetchAdapter(settings.initAdapter);
    return { config: a.config, weights: a.weights };
  }

  private async beginRun(settings: RunSettings, initAdapter: { config: string; weights: Uint8Array } | null, resume: RunRecord | null): Promise<void> {
    const view: RunView = resume
      ? {
          ...EMPTY_RUN, id: resume.id, step: resume.step, totalSteps: resume.totalSteps, checkpointStep: resume.step, history: [...resume.history], state: 'training',
          elapsedMs: resume.history.reduce((t, p) => t + p.ms, 0),
        }
      : { ...EMPTY_RUN, state: 'training' };
    this.app.store.set({ run: view, busy: 'Starting the run' });
    let record: RunRecord;
    try {
      record = await this.app.api.startRun(settings, this.listener(), initAdapter, resume?.id);
    } catch (e) {
      this.app.store.set({ run: { ...this.app.store.get().run, state: resume ? 'stopped' : null }, runModel: null });
      throw e;
    }
    const run = this.app.store.get().run;
    this.app.store.set({
      run: { ...run, id: record.id, totalSteps: run.totalSteps || record.totalSteps, lastEventAt: performance.now() },
      phase: ACTIVE.includes(run.state) ? 'training' : this.app.restPhase(),
      busy: null,
      download: null,
      hasAdapter: true,
    });
    void this.app.refreshRuns().catch(() => undefined);
    void this.watchRun();
  }

  private async watchRun(): Promise<void> {
    try {
      const final = await this.app.api.waitForRun();
      this.stopping = false;
      this.app.store.set({ run: { ...this.app.store.get().run, state: final }, phase: 'done' });
      this.app.notify(final === 'early-stopped' ? 'Stopped early: the validation loss stopped improving.' : final === 'stopped' ? 'Run stopped; the adapter is ready.' : 'Training finished.');
    } catch (e) {
      // The run is over either way (a checkpoint may let it resume).
      this.app.store.set({ run: { ...this.app.store.get().run, state: 'stopped' } });
      this.app.showError(e, { fatal: true });
    }
    void this.app.refreshRuns().catch(() => undefined);
  }

  /** Start: load what is missing (model, data, adapter), check memory, then train. */
  async start(): Promise<void> {
    if (this.app.running()) return;
    await this.app.guard(async () => {
      const settings = validateSettings({ ...this.app.store.get().settings });
      // The dataset first: its problems are found before a model download, not after.
      this.app.beginLoading('Reading the dataset');
      await this.app.ensureDataChecked();
      this.app.store.set({ busy: 'Loading the model' });
      await this.app.ensureModel();
      this.app.store.set({ busy: 'Reading the dataset' });
      await this.app.ensureData();
      const initAdapter = await this.initAdapterFor(settings);
      this.app.store.set({ busy: 'Estimating memory' });
      const memory = await this.app.api.estimateMemory(settings);
      this.app.store.set({ memory, memoryError: null });
      if (!memory.fits) throw new QloraError('OUT_OF_MEMORY', memory.message ?? 'This run does not fit in GPU memory.');
      await this.beginRun(settings, initAdapter, null);
    });
  }

  /** Resumes a stored run from its last checkpoint (after a reload, a stop or a GPU reset). */
  async resumeRun(id: string): Promise<void> {
    if (this.app.running()) return;
    await this.app.guard(async () => {
      const lost = isQloraError(this.app.store.get().error) && (this.app.store.get().error as QloraError).code === 'DEVICE_LOST';
      this.app.beginLoading('Resuming the run');
      if (lost) {
        // The old device and everything on it are gone: a new device, and the model uploaded again.
        this.app.resetInit();
        this.app.store.set({ model: null, modelSig: null });
      }
      await this.app.init();
      if (!this.app.store.get().runs.some((r) => r.id === id)) await this.app.refreshRuns();
      const record = this.app.store.get().runs.find((r) => r.id === id);
      if (!record) throw new QloraError('STORAGE', `Run ${id} is no longer stored; it cannot be resumed.`);
      const settings = storedRunSettings(record.settings);
      // The worker restores the run's own model (from its cache) and dataset (stored with the run),
      // so a run resumes even when the page no longer has an uploaded file or local model folder.
      const sameModel = this.app.store.get().model?.key === record.modelKey;
      // The run trains on its own stored dataset: the Data panel names it from now on, and a later
      // Start uses it too. Gone from storage, the worker refuses to resume and says so.
      const stored = await this.app.api.storedRunData(id);
      const input = stored && { text: stored.text, fileName: stored.fileName, origin: 'run' as const, runName: record.name };
      this.app.store.set({
        settings,
        ...(sameModel ? {} : { source: sourceFromSetting(settings.model, settings.revision), model: null, modelSig: null, runModel: record.name.split(' · ')[0] }),
      });
      if (stored && input) this.app.adoptRunData(input, stored.onInvalid);
      await this.beginRun(settings, null, record);
      if (!sameModel) {
        const model = await this.app.api.currentModel();
        if (model) this.app.store.set({ model, runModel: null });
      }
      if (stored && input) this.app.adoptRunData(input, stored.onInvalid, await this.app.api.currentData());
    });
  }

  /** Opens a stored run without training: its adapter for the exports, the playground and the Learn view. */
  async openRun(id: string): Promise<void> {
    if (this.app.running()) return;
    await this.app.guard(async () => {
      this.app.beginLoading('Opening the run');
      await this.app.init();
      const { record, model, data } = await this.app.api.openRun(id);
      const settings = storedRunSettings(record.settings);
      this.app.store.set({ settings, source: sourceFromSetting(settings.model, settings.revision) });
      const view: RunView = {
        ...EMPTY_RUN, id: record.id, state: record.state === 'created' ? 'stopped' : record.state, step: record.step, totalSteps: record.totalSteps,
        checkpointStep: record.step, history: [...record.history], elapsedMs: record.history.reduce((t, p) => t + p.ms, 0),
      };
      this.app.store.set({
        run: view, model, modelSig: this.app.modelSignature(), runModel: null, data: null, dataSig: null, dataInput: null,
        hasAdapter: true, imported: null, continueFromImported: false,
      });
      // Its stored dataset is the chosen one now, so the Data panel and the next Start agree.
      const stored = await this.app.api.storedRunData(id);
      if (stored) this.app.adoptRunData({ text: stored.text, fileName: stored.fileName, origin: 'run', runName: record.name }, stored.onInvalid, data);
      else if (data) this.app.store.set({ data });
      this.app.endLoading();
      this.app.scheduleEstimate(0);
      this.app.notify(`Opened ${record.name} at step ${record.step}: export its adapter, or try it in the playground.`);
    });
  }

  /** Renames a stored run (the live one too): the list, the comparison and the downloads use the new name. */
  async renameRun(id: string, name: string): Promise<void> {
    await this.app.guard(async () => {
      await this.app.api.renameRun(id, name);
      await this.app.refreshRuns();
    }, { fatal: false });
  }

  async pause(): Promise<void> {
    await this.app.guard(() => this.app.api.pause(), { fatal: false });
  }

  async resume(): Promise<void> {
    await this.app.guard(() => this.app.api.resume(), { fatal: false });
  }

  /** Stop was pressed and the run has not ended yet: the step on the GPU finishes and is kept first (none is queued ahead on the page). */
  stopping = false;

  async stop(): Promise<void> {
    this.stopping = true;
    this.app.store.set({ run: { ...this.app.store.get().run } }); // the status says so at once
    await this.app.guard(() => this.app.api.stop(), { fatal: false });
  }
}

/**
 * A stored run's settings over today's defaults. Runs stored before valMax existed were split without a
 * cap: they keep that (a resume must see the same examples), so they do not get the default cap.
 */
function storedRunSettings(stored: RunSettings): RunSettings {
  const uncapped: Partial<RunSettings> = { valMax: Number.MAX_SAFE_INTEGER };
  return { ...DEFAULT_SETTINGS, ...uncapped, ...stored };
}
