// The page's state and the actions that prepare a run in the engine worker: the model (with
// download progress), the dataset, the memory estimate, an imported adapter. Panels render the state
// and call these; every action is guarded so bad input becomes an error message, never a broken
// page. Keeps the test hooks on <body> (data-run-state, data-step, data-checkpoint-step,
// data-error-code) in step with the state. Runs themselves are run-control.ts's.
import * as Comlink from 'comlink';
import type { Remote } from 'comlink';
import type { RunSettings } from '../engine/run-settings';
import type { DataSummary, EngineApi } from '../worker/protocol';
import { fetchText } from './adapter-files';
import { fetchDatasetText } from '../io/dataset-source';
import { describeDatasetProgress } from '../data/dataset';
import type { DatasetCheck, DatasetProgress } from '../data/dataset';
import { checkProblemError } from '../data/dataset';
import { errorCode } from './error-view';
import { isQloraError } from '../errors';
import { DEMO_DATA_PATH, rememberModel, settingFromSource, sourceFromSetting, sourceSignature, toChoice } from './model-source';
import type { ModelSource } from './model-source';
import { RunControl } from './run-control';
import { ACTIVE, EMPTY_RUN, Store } from './state';
import type { AdapterFiles, AppState, DataInput, Phase } from './state';

const TOKEN_KEY = 'qlora.hfToken';
const DATA_KEYS: (keyof RunSettings)[] = ['format', 'columns', 'limit', 'valSplit', 'valMax', 'maxLength', 'shuffle', 'seed'];

function readToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export class App {
  readonly store: Store<AppState>;
  private readonly invalid = new Set<string>();
  private dataInputId = 0;
  private estimateTimer = 0;
  private dataTimer = 0;
  private noticeTimer = 0;
  private modelLoad: Promise<void> | null = null;
  private initDone: Promise<void> | null = null;
  readonly runs: RunControl;
  /** Called after each checkpoint (the Learn view refreshes its adapter picture). */
  readonly checkpointListeners = new Set<(step: number) => void>();
  readonly rememberToken: { value: boolean } = { value: readToken() !== '' };
  /** Set by "Try the demo": when its run finishes, the playground answers the demo's question at once. */
  readonly demoRun = { pending: false };

  /** The estimate last asked for: an older answer arriving later is dropped. */
  private estimateId = 0;
  /** The dataset check last asked for, likewise. */
  private checkId = 0;
  /** What the stored dataCheck was made from (the input and the settings it reads). */
  private checkedSig: string | null = null;

  /** `gpuMemory`: the page's gpu-memory setting (bytes a run may use instead of measuring them). */
  constructor(readonly api: Remote<EngineApi>, settings: RunSettings, private readonly opts: { gpuMemory: number | null } = { gpuMemory: null }) {
    this.store = new Store<AppState>({
      settings,
      device: null,
      phase: 'idle',
      busy: null,
      source: sourceFromSetting(settings.model, settings.revision),
      token: readToken(),
      model: null,
      runModel: null,
      modelSig: null,
      download: null,
      dataInput: null,
      dataCheck: null,
      data: null,
      dataSig: null,
      onInvalid: 'stop',
      dataNote: null,
      memory: null,
      memoryError: null,
      run: EMPTY_RUN,
      runs: [],
      hasAdapter: false,
      imported: null,
      continueFromImported: false,
      invalidFields: [],
      notice: null,
      error: null,
    });
    this.store.subscribe((s, prev) => this.syncBody(s, prev));
    this.runs = new RunControl(this);
  }

  // ——— state helpers ———

  private syncBody(s: AppState, prev: AppState): void {
    const b = document.body.dataset;
    b.runState = s.phase;
    b.step = String(s.run.step);
    b.checkpointStep = String(s.run.checkpointStep);
    if (s.phase === 'error') b.errorCode = errorCode(s.error);
    else if (prev.phase === 'error' || b.errorCode) delete b.errorCode;
  }

  /** Where the page rests when nothing is loading: training while a run is active, done after one. */
  restPhase(): Phase {
    const st = this.store.get().run.state;
    if (ACTIVE.includes(st)) return 'training';
    if (st === 'done' || st === 'early-stopped' || st === 'stopped') return 'done';
    return 'idle';
  }

  settingsLocked(): boolean {
    const s = this.store.get();
    return ACTIVE.includes(s.run.state) || s.phase === 'loading';
  }

  /** The worker holds a model (loaded here, or restored by a resumed run). */
  hasModel(): boolean {
    const s = this.store.get();
    return s.model !== null || s.runModel !== null;
  }

  running(): boolean {
    return ACTIVE.includes(this.store.get().run.state);
  }

  setFieldValid(key: string, ok: boolean): void {
    if (ok === !this.invalid.has(key)) return;
    if (ok) this.invalid.delete(key);
    else this.invalid.add(key);
    this.store.set({ invalidFields: [...this.invalid] });
    // An estimate made before the field went wrong must not stand: clear it, and estimate again once valid.
    this.scheduleEstimate(0);
  }

  notify(text: string): void {
    clearTimeout(this.noticeTimer);
    this.store.set({ notice: text });
    this.noticeTimer = window.setTimeout(() => this.store.set({ notice: null }), 6000);
  }

  showError(e: unknown, opts: { fatal?: boolean } = {}): void {
    // The error view tells the person; the console keeps it for a bug report. A QloraError is
    // handled (it says what to do), so a warning; anything else is a bug, so an error.
    if (isQloraError(e)) console.warn(`${e.code}: ${e.message}`);
    else console.error(e);
    // A failure beside a live run (a generation, an export) must not hide that the run goes on.
    const fatal = opts.fatal ?? !this.running();
    this.store.set({ error: e, busy: null, download: null, phase: fatal ? 'error' : this.store.get().phase });
  }

  dismissError(): void {
    this.store.set({ error: null, phase: this.store.get().phase === 'error' ? this.restPhase() : this.store.get().phase });
  }

  /** Runs an action; any failure goes to the error view. */
  async guard<T>(what: () => Promise<T>, opts: { fatal?: boolean } = {}): Promise<T | undefined> {
    try {
      return await what();
    } catch (e) {
      this.showError(e, opts);
      return undefined;
    }
  }

  beginLoading(busy: string): void {
    this.store.set({ phase: 'loading', busy, error: null });
  }

  endLoading(): void {
    this.store.set({ phase: this.restPhase(), busy: null, download: null });
  }

  updateSettings(patch: Partial<RunSettings>): void {
    const prev = this.store.get().settings;
    const settings = { ...prev, ...patch };
    const source = this.store.get().source;
    // A new `model` (a link, the demo, a resumed run) picks the source; a new revision moves a Hub source.
    if (patch.model !== undefined && patch.model !== prev.model) this.store.set({ settings, source: sourceFromSetting(settings.model, settings.revision) });
    else if (source.kind === 'hub' && settings.revision !== prev.revision) this.store.set({ settings, source: { ...source, revision: settings.revision } });
    else this.store.set({ settings });
    this.scheduleEstimate();
    if (DATA_KEYS.some((k) => k in patch && JSON.stringify(patch[k]) !== JSON.stringify(prev[k]))) this.scheduleData();
  }

  setSource(source: ModelSource): void {
    const model = settingFromSource(source);
    const settings = model === null ? this.store.get().settings : { ...this.store.get().settings, model, revision: source.kind === 'hub' ? source.revision : 'main' };
    this.store.set({ source, settings, memory: null, memoryError: null });
    rememberModel(source);
    this.scheduleEstimate(0);
  }

  setToken(token: string, remember: boolean): void {
    this.rememberToken.value = remember;
    try {
      if (remember && token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      // Storage may be blocked (private mode); the token still works for this page.
    }
    this.store.set({ token });
  }

  // ——— engine start-up ———

  init(): Promise<void> {
    this.initDone ??= (async () => {
      try {
        await this.api.setGpuMemory(this.opts.gpuMemory);
        const device = await this.api.init();
        this.store.set({ device });
        this.scheduleEstimate(0);
      } catch (e) {
        this.initDone = null; // "Try again" calls init afresh
        throw e;
      }
      await this.refreshRuns().catch((e) => console.warn('listRuns failed', e));
    })();
    return this.initDone;
  }

  /** After a lost device: the next init() asks the worker for a new one. */
  resetInit(): void {
    this.initDone = null;
  }

  hasInvalidFields(): boolean {
    return this.invalid.size > 0;
  }

  async refreshRuns(): Promise<void> {
    const runs = await this.api.listRuns();
    this.store.set({ runs: runs.sort((a, b) => b.updated - a.updated) });
  }

  // ——— model ———

  modelSignature(): string {
    const s = this.store.get();
    return sourceSignature(s.source, s.settings.quant);
  }

  /** Loads the chosen model unless it is the one loaded. */
  async ensureModel(): Promise<void> {
    await this.init();
    if (this.modelLoad) await this.modelLoad;
    const s = this.store.get();
    if (s.model && s.modelSig === this.modelSignature()) return;
    this.modelLoad = this.loadModelNow().finally(() => (this.modelLoad = null));
    await this.modelLoad;
  }

  private async loadModelNow(): Promise<void> {
    const s = this.store.get();
    const sig = this.modelSignature();
    // A new model drops the worker's run and imported adapter: they belong to the old one.
    this.store.set({ busy: 'Loading the model', download: null, model: null, runModel: null, modelSig: null, memory: null, data: null, dataSig: null, hasAdapter: false, imported: null, continueFromImported: false });
    const onProgress = Comlink.proxy((p: Parameters<Parameters<EngineApi['loadModel']>[2]>[0]) => this.store.set({ download: p }));
    const model = await this.api.loadModel(toChoice(s.source, s.token), s.settings.quant, onProgress);
    this.store.set({ model, modelSig: sig, download: null });
  }

  /** The "Load model" button: the model, then the dataset and memory estimate that depend on it. */
  async loadModel(): Promise<void> {
    await this.guard(async () => {
      this.beginLoading('Loading the model');
      await this.ensureModel();
      // A dataset with a problem waits in the Data panel: the model loaded, and that is not an error.
      const check = this.store.get().dataCheck;
      if (this.store.get().dataInput && !(check && checkProblemError(check, this.store.get().onInvalid))) await this.applyData();
      this.endLoading();
      this.scheduleEstimate(0);
    });
  }

  // ——— data ———

  async setDataInput(input: DataInput): Promise<void> {
    this.dataInputId++;
    // Only a URL dataset can be named in a link; any other input replaces it.
    const settings = input.origin === 'url' ? this.store.get().settings : { ...this.store.get().settings, data: null };
    this.store.set({ dataInput: input, dataCheck: null, data: null, dataSig: null, settings, dataNote: null });
    // Read and checked now, model or not: the Data panel lists every problem with the advice that fits.
    const check = await this.checkData();
    if (!this.store.get().model) return; // tokenized once a model (its tokenizer) is loaded
    // A file that cannot be used as it is stays the Data panel's: nothing ran, so no page-level error.
    if (check && checkProblemError(check, this.store.get().onInvalid)) return;
    await this.guard(async () => {
      this.beginLoading('Reading the dataset');
      await this.applyData();
      this.endLoading();
    });
  }

  async loadDataUrl(url: string): Promise<void> {
    await this.guard(async () => {
      this.beginLoading('Downloading the dataset');
      const { text, fileName } = await fetchDatasetText(url);
      this.endLoading();
      this.store.set({ settings: { ...this.store.get().settings, data: url || null } });
      await this.setDataInput({ text, fileName, origin: 'url' });
    });
  }

  async useDemoData(): Promise<void> {
    await this.guard(async () => {
      const { text, fileName } = await fetchText(DEMO_DATA_PATH);
      await this.setDataInput({ text, fileName, origin: 'demo' });
    });
  }

  private dataSignature(onInvalid: 'stop' | 'skip'): string {
    const s = this.store.get();
    return JSON.stringify([this.dataInputId, s.modelSig, onInvalid, DATA_KEYS.map((k) => s.settings[k])]);
  }

  /** Tokenizes the current dataset input with the loaded model's tokenizer. */
  async applyData(onInvalid = this.store.get().onInvalid): Promise<void> {
    const s = this.store.get();
    if (!s.dataInput) return;
    const sig = this.dataSignature(onInvalid);
    if (s.data && s.dataSig === sig) return;
    // A large file tokenizes for minutes: the busy line says how far (only while one is shown, and not after).
    let reading = true;
    let shown: string | null = null;
    const before = s.busy;
    const fileName = s.dataInput.fileName;
    const onProgress = Comlink.proxy((p: DatasetProgress) => {
      if (!reading || this.store.get().busy === null) return;
      shown = describeDatasetProgress(fileName, p);
      this.store.set({ busy: shown });
    });
    try {
      const data = await this.api.setData(s.dataInput.text, fileName, s.settings, onInvalid, onProgress);
      this.store.set({ data, dataSig: sig });
    } finally {
      reading = false;
      if (shown !== null && this.store.get().busy === shown) this.store.set({ busy: before });
    }
  }

  /**
   * The data the run trains on (what was given, else the `data` URL, else the demo dataset), read and
   * checked before any model is downloaded: a file that cannot train stops Start at once, every problem listed.
   */
  async ensureDataChecked(): Promise<void> {
    const s = this.store.get();
    if (!s.dataInput) {
      const { text, fileName } = s.settings.data ? await fetchDatasetText(s.settings.data) : await fetchText(DEMO_DATA_PATH);
      this.dataInputId++;
      this.store.set({ dataInput: { text, fileName, origin: s.settings.data ? 'url' : 'demo' }, dataCheck: null });
    }
    const known = this.store.get().dataCheck;
    const check = known && this.checkedSig === this.checkSignature() ? known : await this.checkData();
    const problem = check && checkProblemError(check, this.store.get().onInvalid);
    if (problem) throw problem;
  }

  /** The checked data tokenized with the loaded model's tokenizer. */
  async ensureData(): Promise<void> {
    await this.ensureDataChecked();
    await this.applyData();
  }

  private checkSignature(): string {
    const s = this.store.get().settings;
    return JSON.stringify([this.dataInputId, s.format, s.columns ?? {}, s.limit]);
  }

  /**
   * The chosen dataset parsed and checked in the worker without a tokenizer: every problem at once, and
   * its kind (empty, unreadable, columns, rows) for the advice. Null when nothing is chosen.
   */
  async checkData(): Promise<DatasetCheck | null> {
    const id = ++this.checkId;
    const s = this.store.get();
    if (!s.dataInput) {
      this.store.set({ dataCheck: null });
      return null;
    }
    try {
      const sig = this.checkSignature();
      const check = await this.api.checkData(s.dataInput.text, s.dataInput.fileName, s.settings);
      if (id === this.checkId) {
        this.checkedSig = sig;
        this.store.set({ dataCheck: check });
      }
      return check;
    } catch (e) {
      // A setting the check cannot take (a limit being typed) is the field's to show.
      if (id === this.checkId) this.store.set({ dataCheck: null });
      console.warn('dataset check failed', e);
      return null;
    }
  }

  /**
   * A stored run's own dataset becomes the chosen one (a resumed or opened run): the Data panel names
   * it and the next Start trains on it, instead of the demo's. `data`: its summary when the worker
   * has already read it for this model and these settings.
   */
  adoptRunData(input: DataInput, onInvalid: 'stop' | 'skip', data: DataSummary | null = null): void {
    this.dataInputId++;
    this.store.set({ dataInput: input, onInvalid, dataCheck: null, data, dataSig: null, dataNote: null, settings: { ...this.store.get().settings, data: null } });
    if (data) this.store.set({ dataSig: this.dataSignature(onInvalid) });
  }

  /** "Skip these rows" after a DATASET_INVALID stop, or on the chosen file's check before any model. */
  async skipBadRows(): Promise<void> {
    this.store.set({ onInvalid: 'skip' });
    this.dismissError();
    if (!this.store.get().model) return; // the rows are skipped when the model's tokenizer reads the file
    await this.guard(async () => {
      this.beginLoading('Reading the dataset');
      await this.applyData('skip');
      this.endLoading();
    });
  }

  private scheduleData(): void {
    clearTimeout(this.dataTimer);
    this.dataTimer = window.setTimeout(() => {
      void this.checkData(); // the format, mapping or limit changed: the problems the panel lists change too
      const s = this.store.get();
      if (!s.model || !s.dataInput || this.running() || s.phase === 'loading') return;
      // Re-reading after a setting changed: a failure is the data's or the field's, not a failed run or
      // load, so the page's state and badge stay as they were (the Data panel shows a dataset problem).
      void this.guard(async () => {
        await this.applyData();
        this.scheduleEstimate(0);
      }, { fatal: false });
    }, 400);
  }

  // ——— memory estimate ———

  scheduleEstimate(delay = 250): void {
    clearTimeout(this.estimateTimer);
    this.estimateTimer = window.setTimeout(() => void this.estimate(), delay);
  }

  /** The worker holds the chosen model (in any precision: the estimate takes the precision from the settings). */
  private holdsChosenModel(): boolean {
    const s = this.store.get();
    if (s.model) return s.modelSig === sourceSignature(s.source, s.model.quant);
    return s.runModel !== null;
  }

  /**
   * The estimate for the current settings: from the loaded model, or from the chosen model's
   * config.json alone before anything else is downloaded. Nothing stands while a field is invalid.
   */
  private async estimate(): Promise<void> {
    const id = ++this.estimateId;
    const s = this.store.get();
    if (this.invalid.size) return this.store.set({ memory: null, memoryError: null });
    if (!s.device || (s.source.kind === 'files' && !s.source.files.length)) return;
    try {
      const memory = this.holdsChosenModel()
        ? await this.api.estimateMemory(s.settings)
        : await this.api.estimateMemoryFromConfig(toChoice(s.source, s.token), s.settings);
      if (id === this.estimateId) this.store.set({ memory, memoryError: null });
    } catch (e) {
      if (id === this.estimateId) this.store.set({ memory: null, memoryError: e instanceof Error ? e.message : String(e) });
    }
  }

  async importAdapter(files: AdapterFiles): Promise<void> {
    await this.guard(async () => {
      this.beginLoading('Loading the adapter');
      await this.ensureModel();
      await this.api.importAdapter(files.config, files.weights);
      this.store.set({ imported: files, hasAdapter: true });
      this.endLoading();
      this.notify(`Adapter ${files.name} loaded: try it in the playground, or tick "continue training" to train on from it.`);
    });
  }
}
