// The engine session: the GPU device, the model, the dataset, the running fine-tune, evaluation,
// generation and exports, headless. What differs between hosts is injected (SessionHost): where the GPU
// adapter comes from (navigator.gpu in the page's worker, Dawn in Node), the key-value store models are
// cached in, the store runs are checkpointed to, and the storage estimate. The page's worker
// (worker/engine-worker.ts) is a comlink transport around one session; tests drive one directly.
import { QloraError } from '../errors';
import { createGpuContext } from '../gpu/context';
import type { GpuContext, GpuContextOptions } from '../gpu/context';
import { cachedModels, deleteCachedModel, loadCachedModel, loadCachedLayer } from '../io/model-cache';
import type { KeyValueStore } from '../io/model-cache';
import { loraLayout, LORA_MODULES, modelLoraModules } from '../engine/lora';
import type { LoraLayout, LoraModule } from '../engine/lora';
import type { HostLayerWeights } from '../engine/base-weights';
import { createGpuLora, destroyGpuLora, readLoraParams } from '../engine/gpu-lora';
import type { GpuLora } from '../engine/gpu-lora';
import { TrainingRun } from '../engine/training-run';
import type { RunState } from '../engine/training-run';
import type { RunSettings } from '../engine/run-settings';
import { DEFAULT_SETTINGS, modelMaxLength, validateSettings } from '../engine/run-settings';
import { Generator } from '../engine/generate';
import { scoreValidationAnswers } from '../engine/score-generations';
import { formatAlpacaPrompt } from '../data/examples';
import { estimateTrainingMemory, estimate16bitLoraMemory, estimateFullFinetuneMemory, checkFits, modelParameterCount } from '../engine/memory-estimate';
import type { MemoryEstimate } from '../engine/memory-estimate';
import { adapterFiles, adapterZip } from '../export/adapter-bundle';
import { mergedModelFiles } from '../export/merged-model';
import { pythonTrainingScript } from '../export/python-script';
import { ggufLoraAdapter } from '../export/gguf-adapter';
import { acquireAndLoad, baseModelRef, locationOf, modelFromCache, releaseModel } from './model-loading';
import { judgeMemory, plainReport } from './memory-check';
import { DeviceMemory, probeAllocation } from '../gpu/memory-probe';
import { fetchModelConfig } from '../io/model-acquire';
import type { ModelConfig } from '../formats/model-config';
import type { BaseModelRef, SessionModel } from './model-loading';
import { makeZip, ZIP_MAX_BYTES } from '../export/zip';
import { adapterFromZip } from '../formats/adapter-zip';
import type { DatasetCheck, DatasetProgress } from '../data/dataset';
import { checkDataset } from '../data/dataset';
import { loadData, summarize } from './data-state';
import { adapterFromFiles, adapterStart, loraSettingsOf } from './adapter-start';
import type { LoadedData } from './data-state';
import type { RunStore } from './run-store';
import { adapterNorms, nf4Block } from './learn';
import type {
  DataSummary, DeviceInfo, DownloadProgress, EngineApi, EvalReport, GenerationRequest, LearnData, MemoryReport, ModelChoice,
  ModelSummary, RunListener, RunRecord, StoredItem,
} from '../worker/protocol';

/** What a host gives a session. */
export interface SessionHost {
  /** The GPU adapter; throws (in the host's words) where there is no WebGPU, null when it finds no adapter. */
  requestAdapter(): Promise<GPUAdapter | null>;
  /** The page shares its GPU with the display: paced submission there. */
  gpuOptions?: GpuContextOptions;
  /** Where downloaded models are cached (quantized as they stream). */
  models: KeyValueStore;
  /** Where runs are checkpointed as they go. */
  runs: RunStore;
  /** The storage's usage and quota, where the host knows them. */
  storageEstimate?(): Promise<{ usage: number | null; quota: number | null; persisted: boolean }>;
}

/** Everything the page does with the engine (EngineApi), over the parts its host gives it. */
export class EngineSession implements EngineApi {
  private ctx: GpuContext | null = null;
  private deviceLost: string | null = null;
  /** The model cache (host.models) and the run store (host.runs). */
  private readonly store: KeyValueStore;
  private readonly runStore: RunStore;
  private model: SessionModel | null = null;
  private data: LoadedData | null = null;
  private run: TrainingRun | null = null;
  private runRecord: RunRecord | null = null;
  private runDone: Promise<RunState> | null = null;
  /** An adapter imported to try or to continue from, when no run holds one. */
  private imported: { layout: LoraLayout; lora: GpuLora } | null = null;
  private stopGen = false;
  /** What is known of each adapter's memory (by its description), for this session's life. */
  private readonly memories = new Map<string, DeviceMemory>();
  private gpuMemoryOverride: number | null = null;

  constructor(private readonly host: SessionHost) {
    this.store = host.models;
    this.runStore = host.runs;
  }

  async init(): Promise<DeviceInfo> {
    if (this.ctx && !this.deviceLost) return this.info(this.ctx);
    // After a lost device everything on the GPU is gone: start clean (the caches and checkpoints remain).
    this.model = null;
    this.run = null;
    this.imported = null;
    const adapter = await this.host.requestAdapter();
    if (!adapter) throw new QloraError('WEBGPU_UNAVAILABLE', 'WebGPU is there but found no GPU adapter. Update the graphics driver, or check chrome://gpu for WebGPU status.');
    const ctx = await createGpuContext(adapter, this.host.gpuOptions);
    this.ctx = ctx;
    this.deviceLost = null;
    ctx.device.lost.then((i) => {
      if (i.reason !== 'destroyed') this.deviceLost = i.message || 'the GPU device was lost';
    });
    return this.info(ctx);
  }

  private info(ctx: GpuContext): DeviceInfo {
    return { adapter: ctx.adapterDescription, f16: ctx.features.f16, gemmBackend: ctx.gemmBackend, gemmFallback: ctx.gemmFallback, subgroupMatrixHidden: ctx.features.f16 && ctx.features.subgroups && !ctx.features.subgroupMatrix, maxBufferSize: ctx.limits.maxBufferSize, maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize };
  }

  private gpu(): GpuContext {
    if (this.deviceLost) throw new QloraError('DEVICE_LOST', `The GPU device was lost (${this.deviceLost}). Resume from the last checkpoint: nothing saved is lost.`);
    if (!this.ctx) throw new QloraError('INTERNAL', 'init() was not called');
    return this.ctx;
  }

  private requireModel(): SessionModel {
    if (!this.model) throw new QloraError('ARGUMENT_INVALID', 'Load a model first.');
    return this.model;
  }

  async currentModel(): Promise<ModelSummary | null> {
    return this.model?.summary ?? null;
  }

  async loadModel(choice: ModelChoice, quant: RunSettings['quant'], onProgress: (p: DownloadProgress) => void): Promise<ModelSummary> {
    const ctx = this.gpu();
    if (this.run?.runState === 'training' || this.run?.runState === 'paused') throw new QloraError('ARGUMENT_INVALID', 'Stop the running fine-tune before loading another model.');
    this.dropRun();
    if (this.model) releaseModel(ctx, this.model);
    this.model = null;
    this.model = await acquireAndLoad(ctx, this.store, choice, quant, onProgress);
    return this.model.summary;
  }

  async setData(text: string, fileName: string, settings: RunSettings, onInvalid: 'stop' | 'skip', onProgress?: (p: DatasetProgress) => void): Promise<DataSummary> {
    const m = this.requireModel();
    settings = validateSettings(settings);
    checkMaxLength(m, settings);
    this.data = loadData(text, fileName, m.tokenizer, settings, onInvalid, onProgress);
    return summarize(this.data, m.tokenizer);
  }

  async checkData(text: string, fileName: string, settings: RunSettings): Promise<DatasetCheck> {
    return checkDataset(text, fileName, { ...(settings.format === 'auto' ? {} : { format: settings.format }), columns: settings.columns ?? {}, ...(settings.limit !== null ? { limit: settings.limit } : {}) });
  }

  private estimate(settings: RunSettings, m: SessionModel): MemoryEstimate {
    const data = this.data && { longest: this.data.prepared.examples.reduce((n, x) => Math.max(n, x.inputIds.length), 8), evaluation: this.data.val.length > 0 };
    return this.estimateFor(m.config, m.weights.embed.format === 'f32' ? 4 : 2, settings, data);
  }

  /** Without a dataset (config-only, or before one is read) the run is sized for maxLength-token examples. */
  private estimateFor(config: ModelConfig, embedDtypeBytes: number, settings: RunSettings, data: { longest: number; evaluation: boolean } | null): MemoryEstimate {
    return estimateTrainingMemory(config, {
      quant: settings.quant,
      embedDtypeBytes,
      batchSize: settings.batchSize,
      seqLen: Math.min(settings.maxLength, data ? data.longest : settings.maxLength),
      lora: loraSettingsOf(settings),
      gradientCheckpointing: settings.gradientCheckpointing,
      evaluation: data?.evaluation ?? false,
      nf4Decode: this.ctx?.nf4Decode, // the f16 scratch of the subgroup-matrix back end (absent before init: in-tile)
    });
  }

  private deviceMemory(ctx: GpuContext): DeviceMemory {
    let memory = this.memories.get(ctx.adapterDescription);
    if (!memory) {
      memory = new DeviceMemory((bytes) => probeAllocation(ctx.device, bytes));
      this.memories.set(ctx.adapterDescription, memory);
    }
    memory.setOverride(this.gpuMemoryOverride);
    return memory;
  }

  private judge(e: MemoryEstimate, settings: RunSettings, fromConfig: boolean): Promise<MemoryReport> {
    const ctx = this.gpu();
    const busy = this.run?.runState === 'training' || this.run?.runState === 'paused';
    return judgeMemory(e, settings, { limits: ctx.limits, memory: this.deviceMemory(ctx), held: ctx.memory.inUse, canProbe: !busy, fromConfig });
  }

  async setGpuMemory(bytes: number | null): Promise<void> {
    this.gpuMemoryOverride = bytes;
  }

  async estimateMemory(settings: RunSettings): Promise<MemoryReport> {
    const m = this.requireModel();
    return this.judge(this.estimate(settings, m), settings, false);
  }

  async estimateMemoryFromConfig(choice: ModelChoice, settings: RunSettings): Promise<MemoryReport> {
    const { config, embedDtypeBytes } = await fetchModelConfig(locationOf(choice));
    // A dataset tokenized for another model says nothing of this one's lengths: size for maxLength.
    return this.judge(this.estimateFor(config, embedDtypeBytes, settings, null), settings, true);
  }

  private dropRun(): void {
    if (this.run && this.ctx && !this.deviceLost) this.run.destroy();
    this.run = null;
    this.runRecord = null;
    this.runDone = null;
  }

  async startRun(settings: RunSettings, listener: RunListener, initAdapter: { config: string; weights: Uint8Array } | null, resumeRunId?: string): Promise<RunRecord> {
    const ctx = this.gpu();
    if (this.run && (this.run.runState === 'training' || this.run.runState === 'paused')) throw new QloraError('ARGUMENT_INVALID', 'A fine-tune is already running.');
    if (!resumeRunId) settings = validateSettings(settings);
    this.dropRun();
    let record: RunRecord;
    let checkpoint = null;
    if (resumeRunId) {
      const saved = await this.runStore.record(resumeRunId);
      const savedData = await this.runStore.data(resumeRunId);
      if (!saved) throw new QloraError('STORAGE', `Run ${resumeRunId} is no longer in browser storage.`);
      if (!savedData) throw new QloraError('STORAGE', `The dataset of run "${saved.name}" can no longer be read from browser storage, so the run cannot resume. Open it to export or try its adapter, or choose the dataset again and start a new run.`);
      record = saved;
      settings = saved.settings;
      checkpoint = (await this.runStore.checkpoint(resumeRunId)) ?? null;
      await this.modelOfRun(ctx, saved, listener);
      checkMaxLength(this.model!, settings);
      void listener.onPhase('reading the dataset');
      this.data = loadData(savedData.text, savedData.fileName, this.model!.tokenizer, settings, savedData.onInvalid);
      initAdapter = savedData.initAdapter;
    } else {
      const m = this.requireModel();
      if (!this.data) throw new QloraError('ARGUMENT_INVALID', 'Load a dataset first.');
      const fits = checkFits(this.estimate(settings, m), ctx.limits);
      if (!fits.ok) throw new QloraError(fits.code, fits.message);
      record = {
        id: `run-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`,
        name: `${m.summary.name} · ${this.data.fileName}`,
        settings,
        modelKey: m.cacheKey,
        state: 'created',
        step: 0,
        totalSteps: 0,
        history: [],
        updated: Date.now(),
      };
      await this.runStore.saveData(record.id, { text: this.data.text, fileName: this.data.fileName, onInvalid: this.data.onInvalid, initAdapter });
    }
    const m = this.requireModel();
    const data = this.data!;
    void listener.onPhase('preparing the adapter and optimizer on the GPU');
    const start = adapterStart(m.config, settings, initAdapter && adapterFromFiles(m.config, initAdapter.config, initAdapter.weights));
    const { layout, params } = start;
    settings = start.settings;
    const rec = record;
    const persist = async () => {
      rec.updated = Date.now();
      await this.runStore.saveRecord(rec);
    };
    this.run = new TrainingRun(ctx, m.weights, layout, data.train, data.val, settings, m.tokenizer.padTokenId ?? 0,
      checkpoint ? { checkpoint } : { params }, {
        onStep: (p) => {
          rec.step = p.step;
          rec.totalSteps = p.totalSteps;
          void listener.onStep(p);
        },
        onState: (s) => {
          rec.state = s;
          void persist();
          void listener.onState(s);
        },
        onCheckpoint: async (c) => {
          await this.runStore.saveCheckpoint(rec.id, c);
          rec.history = c.history;
          rec.step = c.step;
          rec.totalSteps = c.totalSteps;
          await persist();
          void listener.onCheckpoint(c.step);
        },
      });
    rec.settings = settings;
    rec.totalSteps = this.run.totalSteps;
    this.runRecord = rec;
    await persist();
    const run = this.run;
    this.runDone = run.run().catch(async (e) => {
      rec.state = 'stopped';
      await persist().catch(() => undefined);
      if (this.deviceLost) throw new QloraError('DEVICE_LOST', `The GPU device was lost (${this.deviceLost}) at step ${run.step}. Resume from the last checkpoint.`);
      throw e;
    });
    this.runDone.catch(() => undefined); // observed through waitForRun()
    // The GPU pipelines are compiled when first used: the first step is the slow one.
    void listener.onPhase(checkpoint ? `compiling GPU shaders and running step ${checkpoint.step + 1}` : 'compiling GPU shaders and running the first step');
    return rec;
  }

  /** The model a stored run was trained on, from the cache (uploaded again unless it is the one held). */
  private async modelOfRun(ctx: GpuContext, saved: RunRecord, listener?: RunListener): Promise<void> {
    if (this.model && this.model.cacheKey === saved.modelKey) return;
    if (this.model) releaseModel(ctx, this.model);
    this.model = null;
    void listener?.onPhase('uploading the model to the GPU');
    this.model = await modelFromCache(ctx, await loadCachedModel(this.store, saved.modelKey), saved.settings.quant, true);
  }

  async openRun(id: string): Promise<{ record: RunRecord; model: ModelSummary; data: DataSummary | null }> {
    const ctx = this.gpu();
    if (this.run && (this.run.runState === 'training' || this.run.runState === 'paused')) throw new QloraError('ARGUMENT_INVALID', 'Stop the running fine-tune before opening another run.');
    const saved = await this.runStore.record(id);
    const checkpoint = await this.runStore.checkpoint(id);
    if (!saved) throw new QloraError('STORAGE', `Run ${id} is no longer in browser storage.`);
    if (!checkpoint) throw new QloraError('STORAGE', `Run "${saved.name}" saved no checkpoint (it stopped before its first one), so it has no adapter to open. Start it again.`);
    this.dropRun();
    await this.modelOfRun(ctx, saved);
    const m = this.requireModel();
    // The settings stored with the run are the adapter's own (an initial adapter's overwrite them at start).
    const layout = loraLayout(m.config, loraSettingsOf(saved.settings));
    if (this.imported) destroyGpuLora(ctx, this.imported.lora);
    this.imported = { layout, lora: createGpuLora(ctx, layout, checkpoint.params) };
    this.runRecord = { ...saved, step: checkpoint.step };
    // The dataset comes back too: the script names its format, evaluation scores its validation split.
    const savedData = await this.runStore.data(id);
    this.data = null;
    if (savedData) {
      try {
        this.data = loadData(savedData.text, savedData.fileName, m.tokenizer, saved.settings, savedData.onInvalid);
      } catch {
        this.data = null; // the adapter opens without it
      }
    }
    return { record: this.runRecord, model: m.summary, data: this.data ? summarize(this.data, m.tokenizer) : null };
  }

  async storedRunData(id: string): Promise<{ text: string; fileName: string; onInvalid: 'stop' | 'skip' } | null> {
    const d = await this.runStore.data(id);
    return d ? { text: d.text, fileName: d.fileName, onInvalid: d.onInvalid } : null;
  }

  async currentData(): Promise<DataSummary | null> {
    return this.data && this.model ? summarize(this.data, this.model.tokenizer) : null;
  }

  async renameRun(id: string, name: string): Promise<RunRecord> {
    const trimmed = name.trim();
    if (!trimmed) throw new QloraError('ARGUMENT_INVALID', 'A run needs a name: type at least one character.');
    // The held run's record (live or opened) is renamed too: a live run's checkpoints save that object.
    const held = this.runRecord?.id === id ? this.runRecord : null;
    if (held) held.name = trimmed;
    const stored = await this.runStore.record(id);
    if (!stored) throw new QloraError('STORAGE', `Run ${id} is no longer in browser storage.`);
    const renamed = held && this.run ? held : { ...stored, name: trimmed };
    await this.runStore.saveRecord(renamed);
    return renamed;
  }

  async pause(): Promise<void> {
    this.run?.pause();
  }

  async resume(): Promise<void> {
    this.run?.resume();
  }

  async stop(): Promise<void> {
    this.run?.stop();
  }

  async waitForRun(): Promise<RunState> {
    if (!this.runDone) throw new QloraError('ARGUMENT_INVALID', 'No fine-tune has been started.');
    return this.runDone;
  }

  /** The adapter generation and exports use: the run's, else an imported one. */
  private adapter(): { layout: LoraLayout; lora: GpuLora } | null {
    if (this.run) return { layout: this.run.layout, lora: this.run.lora };
    return this.imported;
  }

  private promptText(req: GenerationRequest, m: SessionModel): string {
    if (req.template === 'alpaca') return formatAlpacaPrompt(req.prompt);
    if (req.template === 'chat') return m.tokenizer.applyChatTemplate([{ role: 'user', content: req.prompt }], { addGenerationPrompt: true });
    return req.prompt;
  }

  private async generateIds(m: SessionModel, prompt: string, addSpecial: boolean, req: Omit<GenerationRequest, 'prompt' | 'template'>, onIds?: (ids: number[]) => void): Promise<number[]> {
    const ctx = this.gpu();
    const adapter = req.withAdapter ? this.adapter() : null;
    if (req.withAdapter && !adapter) throw new QloraError('ARGUMENT_INVALID', 'There is no fine-tuned adapter yet: train or import one.');
    const ids = m.tokenizer.encode(prompt, { addSpecialTokens: addSpecial });
    const maxPrompt = Math.max(1, Math.min(m.weights.rope.maxPos, 4096) - req.maxNewTokens);
    const promptIds = ids.slice(-maxPrompt);
    const gen = new Generator(ctx, m.weights, adapter?.lora ?? null, promptIds.length + req.maxNewTokens);
    const eos = this.eosTokenIds(m);
    const out: number[] = [];
    this.stopGen = false;
    try {
      return await gen.generate(promptIds, {
        maxNewTokens: req.maxNewTokens, greedy: req.greedy, temperature: req.temperature, topP: req.topP, seed: req.seed, eosTokenIds: eos,
        onToken: (id) => {
          out.push(id);
          onIds?.(out);
        },
        shouldContinue: () => !this.stopGen,
      });
    } finally {
      gen.destroy();
    }
  }

  private eosTokenIds(m: SessionModel): number[] {
    return [...m.config.eosTokenIds, ...(m.tokenizer.eosTokenId !== null ? [m.tokenizer.eosTokenId] : [])];
  }

  async generate(req: GenerationRequest, onToken: (text: string) => void): Promise<string> {
    const m = this.requireModel();
    let sent = '';
    const ids = await this.generateIds(m, this.promptText(req, m), req.template !== 'chat', req, (ids) => {
      const text = m.tokenizer.decode(ids, { skipSpecialTokens: true });
      if (text.length > sent.length && text.startsWith(sent)) void onToken(text.slice(sent.length));
      sent = text;
    });
    return m.tokenizer.decode(ids, { skipSpecialTokens: true });
  }

  async stopGeneration(): Promise<void> {
    this.stopGen = true;
  }

  async evaluateGenerations(maxSamples: number, maxNewTokens: number): Promise<EvalReport> {
    const m = this.requireModel();
    const d = this.data;
    if (!d || d.val.length === 0) throw new QloraError('DATASET_INVALID', 'There are no validation examples: set a validation split above 0 (needs at least 10 records).');
    this.stopGen = false;
    // The same loop as `qlora train`'s end-of-run scores; stopGeneration() ends it with the answers so far.
    const scored = await scoreValidationAnswers(this.gpu(), m.weights, this.adapter()?.lora ?? null, m.tokenizer, this.eosTokenIds(m),
      d.prepared, d.val, maxSamples, maxNewTokens, { shouldContinue: () => !this.stopGen });
    if (!scored) throw new QloraError('DATASET_INVALID', 'Plain-text records have no reference answers to score BLEU / ROUGE against.');
    return { bleu: scored.bleu, rouge1: scored.rouge1, rouge2: scored.rouge2, rougeL: scored.rougeL, rougeLsum: scored.rougeLsum, samples: scored.answers };
  }

  private async adapterParams(): Promise<{ layout: LoraLayout; params: Float32Array }> {
    const a = this.adapter();
    if (!a) throw new QloraError('ARGUMENT_INVALID', 'There is no adapter to export yet: train or import one.');
    return { layout: a.layout, params: await readLoraParams(this.gpu(), a.lora) };
  }

  /** PEFT's base_model_name_or_path: a Hub id from_pretrained loads, else null (the card says where it came from). */
  private baseModel(): BaseModelRef | null {
    return this.model ? baseModelRef(this.model) : null;
  }

  async exportAdapter(): Promise<{ zip: Uint8Array; files: Record<string, Uint8Array> }> {
    const { layout, params } = await this.adapterParams();
    const base = this.baseModel();
    const info = { quant: this.model?.quant, steps: this.run?.step ?? this.runRecord?.step, dataset: this.data?.fileName, baseSource: base?.source ?? undefined };
    const zip = adapterZip(layout, params, base?.hubId ?? null, info);
    const files = adapterFiles(layout, params, base?.hubId ?? null, info);
    return { zip, files };
  }

  async exportMerged(dtype: 'F16' | 'BF16'): Promise<{ name: string; bytes: Uint8Array }[]> {
    const m = this.requireModel();
    const { layout, params } = await this.adapterParams();
    const cached = await loadCachedModel(this.store, m.cacheKey);
    const shards = [...mergedModelFiles({
      config: cached.config,
      configJson: JSON.parse(cached.files['config.json']),
      weights: cached.weights,
      layout,
      params,
      tokenizerFiles: Object.fromEntries(Object.entries(cached.files).filter(([k, v]) => k !== 'config.json' && v !== undefined)) as Record<string, string>,
      dtype,
    })];
    // One download, a folder from_pretrained loads once unzipped; past zip's 4 GiB (no ZIP64), the files one by one.
    const folder = `${baseModelRef(m).stem}-merged`;
    const total = shards.reduce((n, f) => n + f.bytes.byteLength, 0);
    const files = total < ZIP_MAX_BYTES
      ? [{ name: `${folder}.zip`, bytes: makeZip(shards.map((f) => ({ name: `${folder}/${f.name}`, bytes: f.bytes }))) }]
      : shards.map((f) => ({ name: f.name, bytes: f.bytes }));
    return files;
  }

  async exportGguf(): Promise<{ name: string; bytes: Uint8Array }> {
    const m = this.requireModel();
    const { layout, params } = await this.adapterParams();
    const base = baseModelRef(m);
    const bytes = ggufLoraAdapter({ layout, params, config: m.config, name: base.hubId ?? m.summary.name });
    // "<base>-lora-f32.gguf", the name convert_lora_to_gguf.py's naming convention gives an adapter.
    const stem = base.stem;
    return { name: `${stem}-lora-f32.gguf`, bytes };
  }

  async exportScript(dataFileName: string): Promise<string> {
    const s = this.runRecord?.settings;
    const m = this.requireModel();
    if (!s) throw new QloraError('ARGUMENT_INVALID', 'Start a fine-tune first: the script reproduces its settings.');
    const base = baseModelRef(m);
    return pythonTrainingScript({
      modelId: base.hubId ?? 'path/to/base-model', revision: base.hubId ? base.revision : null, ...(base.source ? { modelSource: base.source } : {}), dataFileName, format: this.data?.prepared.format ?? 'alpaca', maxLength: s.maxLength,
      batchSize: s.batchSize, gradAccum: s.gradAccum, ...(s.steps !== null ? { steps: s.steps } : { epochs: s.epochs }),
      lr: s.lr, scheduler: s.scheduler, warmupSteps: s.warmup, weightDecay: s.weightDecay, maxGradNorm: s.maxGradNorm,
      lora: loraSettingsOf(s), quant: s.quant, seed: s.seed, gradientCheckpointing: s.gradientCheckpointing, valSplit: s.valSplit, valMax: s.valMax,
      // The records the run trained on: the same mapping, limit and skipped rows (named in the script).
      columns: s.columns ?? {}, limit: s.limit, onInvalid: this.data?.onInvalid ?? 'stop',
      skipped: this.data ? [...this.data.prepared.lineErrors, ...this.data.prepared.recordErrors] : [],
      modelModules: modelLoraModules(m.config), modelType: m.config.modelType,
    });
  }

  async readAdapterZip(zip: Uint8Array, zipName: string): Promise<Map<string, Uint8Array>> {
    return adapterFromZip(zip, zipName);
  }

  async importAdapter(config: string, weights: Uint8Array): Promise<void> {
    const ctx = this.gpu();
    const m = this.requireModel();
    const { layout, params } = adapterFromFiles(m.config, config, weights);
    if (this.imported) destroyGpuLora(ctx, this.imported.lora);
    if (this.run && this.run.runState !== 'training' && this.run.runState !== 'paused') this.dropRun();
    this.imported = { layout, lora: createGpuLora(ctx, layout, params) };
  }

  async listRuns(): Promise<RunRecord[]> {
    return this.runStore.records();
  }

  async listStored(): Promise<{ items: StoredItem[]; usage: number | null; quota: number | null; persisted: boolean }> {
    const items: StoredItem[] = [];
    for (const c of await cachedModels(this.store)) {
      items.push({ kind: 'model', key: c.key, name: c.label, bytes: c.bytes, date: c.updatedAt, detail: `${c.quant}${c.complete ? '' : ', incomplete download'}` });
    }
    for (const r of await this.runStore.records()) {
      // A record still "training" that this session does not run was cut off (a reload, a crash).
      const live = this.runRecord?.id === r.id && (this.run?.runState === 'training' || this.run?.runState === 'paused');
      const state = (r.state === 'training' || r.state === 'paused') && !live ? 'interrupted' : r.state;
      items.push({ kind: 'run', key: r.id, name: r.name, bytes: await this.runStore.sizeOf(r.id), date: r.updated, detail: `${state}, step ${r.step}/${r.totalSteps}` });
    }
    const est = (await this.host.storageEstimate?.().catch(() => null)) ?? { usage: null, quota: null, persisted: false };
    return { items, ...est };
  }

  async deleteStored(kind: StoredItem['kind'], key: string): Promise<void> {
    if (kind === 'model') {
      if (this.model?.cacheKey === key && this.run && (this.run.runState === 'training' || this.run.runState === 'paused')) {
        throw new QloraError('ARGUMENT_INVALID', 'This model is being fine-tuned; stop the run before deleting it.');
      }
      await deleteCachedModel(this.store, key);
    } else if (kind === 'run') {
      if (this.runRecord?.id === key && this.run && (this.run.runState === 'training' || this.run.runState === 'paused')) {
        throw new QloraError('ARGUMENT_INVALID', 'This run is in progress; stop it before deleting it.');
      }
      await this.runStore.remove(key);
    }
  }

  /** The layer the Learn view shows, read from the cache once per model and layer. */
  private learnCache: { key: string; layer: number; weights: HostLayerWeights } | null = null;

  private async learnLayer(key: string, layer: number): Promise<HostLayerWeights> {
    if (this.learnCache?.key !== key || this.learnCache.layer !== layer) {
      this.learnCache = { key, layer, weights: await loadCachedLayer(this.store, key, layer) };
    }
    return this.learnCache.weights;
  }

  async learn(layer: number, module: string, block: number): Promise<LearnData> {
    const m = this.requireModel();
    const s = this.runRecord?.settings;
    const settings: RunSettings = s ?? DEFAULT_SETTINGS;
    const lora = loraSettingsOf(settings);
    const base = { embedDtypeBytes: m.weights.embed.format === 'f32' ? 4 : 2, batchSize: settings.batchSize, seqLen: settings.maxLength, lora, gradientCheckpointing: settings.gradientCheckpointing };
    const L = m.config.numLayers;
    const li = Math.max(0, Math.min(L - 1, layer));
    const hostLayer = await this.learnLayer(m.cacheKey, li);
    const mod = ((LORA_MODULES as readonly string[]).includes(module) ? module : 'q_proj') as LoraModule;
    const w = hostLayer.proj[mod] ?? hostLayer.proj.gate_proj!; // a module this layer's mixer lacks: the MLP's gate (every layer has one)
    const blocks = Math.ceil((w.rows * w.cols) / 64);
    const a = this.adapter();
    const params = a ? await readLoraParams(this.gpu(), a.lora) : null;
    return {
      memory: {
        qlora: plainReport(estimateTrainingMemory(m.config, { ...base, quant: 'nf4' })),
        lora16: plainReport(estimate16bitLoraMemory(m.config, base)),
        full: plainReport(estimateFullFinetuneMemory(m.config, base)),
      },
      trainable: (a?.layout ?? loraLayout(m.config, lora)).parameterCount,
      total: modelParameterCount(m.config),
      block: (() => {
        const b = Math.max(0, Math.min(blocks - 1, block));
        const original = hostLayer.original?.[mod];
        // Originals are kept for the first SAMPLE_BLOCKS blocks only (from element 0).
        const known = original && (b + 1) * 64 <= original.length ? original : null;
        return { ...nf4Block(w, b, known), name: `model.layers.${li}.${mod}.weight, block ${b}` };
      })(),
      adapterNorms: a && params ? adapterNorms(a.layout, params) : [],
    };
  }
}



/** maxLength must fit the positions the model was uploaded with (its context, at most the RoPE table). */
function checkMaxLength(m: SessionModel, settings: RunSettings): void {
  modelMaxLength({ maxPositionEmbeddings: Math.min(m.config.maxPositionEmbeddings, m.weights.rope.maxPos) }, settings.maxLength, settings.maxLength, 'maxLength setting');
}
