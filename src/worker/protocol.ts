// The typed interface between the page and the engine worker: one interface implemented in the worker
// (engine-worker.ts) and called through a comlink proxy on the main thread (client.ts). Payloads are
// plain data (structured-clone safe); callbacks cross as comlink proxies.
import type { ModelConfig } from '../formats/model-config';
import type { RunSettings } from '../engine/run-settings';
import type { DatasetFormat } from '../data/records';
import type { DatasetCheck, DatasetProgress } from '../data/dataset';
import type { HistoryPoint, RunState } from '../engine/training-run';
import type { MemoryBasis } from '../gpu/memory-probe';
import type { MemoryFix } from '../engine/memory-fixes';

export interface DeviceInfo {
  adapter: string;
  f16: boolean;
  /** The matrix-product back end (GpuContext.gemmBackend), and why the tensor-core one was not used when its check failed. */
  gemmBackend: string;
  gemmFallback?: string;
  /** The adapter has shader-f16 and subgroups but no chromium-experimental-subgroup-matrix: the browser may be hiding tensor cores. */
  subgroupMatrixHidden: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export type ModelChoice =
  | { kind: 'demo'; baseUrl: string }
  | { kind: 'hub'; id: string; revision: string; token?: string }
  | { kind: 'url'; url: string; token?: string }
  | { kind: 'files'; files: File[] };

export interface DownloadProgress {
  phase: string; // e.g. "download model.safetensors", "quantize layer 3/16", "upload to GPU"
  loaded: number;
  total: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

export interface ModelSummary {
  key: string; // cache key
  name: string;
  config: ModelConfig;
  quant: RunSettings['quant'];
  parameters: number; // base parameter count
  gpuBytes: number; // base weights on the GPU
  fromCache: boolean;
}

export interface TokenPreview {
  text: string;
  trained: boolean; // takes loss
}

export interface DataSummary {
  fileName: string;
  format: DatasetFormat;
  records: number;
  train: number;
  val: number;
  /** The validation split valSplit asked for, when valMax capped it (the rest trains); else null. */
  valCapped: { wanted: number; max: number } | null;
  lineErrors: { line: number; reason: string }[];
  /** `line`: the file's line the record starts on (absent only for records that came from no file). */
  recordErrors: { index: number; line?: number; reason: string }[];
  /** How the file was cut into records, when that is not obvious (plain text), else null. */
  reading: string | null;
  preview: TokenPreview[];
  meanTokens: number;
  maxTokens: number;
}

export interface MemoryReport {
  total: number;
  breakdown: { label: string; bytes: number }[];
  fits: boolean;
  message: string | null;
  /**
   * How the total was judged against the GPU: 'probe' (allocated on this GPU), 'setting' (the
   * gpu-memory setting), 'not measured' (only the WebGPU buffer limits were checked).
   */
  basis: MemoryBasis;
  /** The same in words for the page, saying plainly what was measured and what is a guess. */
  basisText: string;
  /** Made from config.json alone, before the weights were downloaded. */
  fromConfig: boolean;
  /** One-click changes that make it fit (empty when it fits). */
  fixes: MemoryFix[];
}

export interface StepEvent extends HistoryPoint {
  totalSteps: number;
  elapsedMs: number;
  tokensPerSecond: number;
}

export interface RunListener {
  /** What the run is doing before its first step, for people ("compiling GPU shaders…"). */
  onPhase(phase: string): void;
  onStep(e: StepEvent): void;
  onState(s: RunState): void;
  onCheckpoint(step: number): void;
}

export interface StoredItem {
  kind: 'model' | 'run' | 'adapter' | 'dataset';
  key: string;
  name: string;
  bytes: number;
  date: number;
  detail?: string;
}

export interface RunRecord {
  id: string;
  name: string;
  settings: RunSettings;
  modelKey: string;
  state: RunState | 'created';
  step: number;
  totalSteps: number;
  history: HistoryPoint[];
  updated: number;
}

export interface GenerationRequest {
  prompt: string;
  template: 'alpaca' | 'chat' | 'none';
  maxNewTokens: number;
  greedy: boolean;
  temperature: number;
  topP: number;
  seed: number;
  withAdapter: boolean;
}

export interface EvalReport {
  bleu: number; // 0..100
  rougeL: number; // 0..1, F of each, mean over samples (src/eval/rouge.ts)
  rouge1: number;
  rouge2: number;
  rougeLsum: number;
  samples: { prompt: string; reference: string; output: string }[];
}

export interface LearnData {
  memory: { qlora: MemoryReport; lora16: MemoryReport; full: MemoryReport };
  trainable: number;
  total: number;
  block: { values: number[]; dequant: number[]; levels: number[]; absmax: number; error: number; name: string };
  adapterNorms: { layer: number; module: string; norm: number }[];
}

export interface EngineApi {
  init(): Promise<DeviceInfo>;
  /** The model the worker holds (loaded, or restored by a resumed run), or null. */
  currentModel(): Promise<ModelSummary | null>;
  loadModel(choice: ModelChoice, quant: RunSettings['quant'], onProgress: (p: DownloadProgress) => void): Promise<ModelSummary>;
  /** onProgress (a Comlink proxy) hears how far reading and tokenizing have come. */
  setData(text: string, fileName: string, settings: RunSettings, onInvalid: 'stop' | 'skip', onProgress?: (p: DatasetProgress) => void): Promise<DataSummary>;
  /** The chosen dataset checked without a model (every problem at once), as soon as it is chosen. */
  checkData(text: string, fileName: string, settings: RunSettings): Promise<DatasetCheck>;
  estimateMemory(settings: RunSettings): Promise<MemoryReport>;
  /** The estimate from the model's config.json alone (a few kB), before its weights are downloaded. */
  estimateMemoryFromConfig(choice: ModelChoice, settings: RunSettings): Promise<MemoryReport>;
  /** The page's gpu-memory setting: the bytes a run may use instead of measuring them; null: measure. */
  setGpuMemory(bytes: number | null): Promise<void>;
  /** Starts (or resumes, with runId) a run; resolves when it has started. */
  startRun(settings: RunSettings, listener: RunListener, initAdapter: { config: string; weights: Uint8Array } | null, resumeRunId?: string): Promise<RunRecord>;
  /**
   * Opens a stored run (done, stopped, early-stopped…) without training: its model and its adapter at
   * the last checkpoint, so it can be exported, tried in the playground or continued from.
   */
  openRun(id: string): Promise<{ record: RunRecord; model: ModelSummary; data: DataSummary | null }>;
  /** The dataset stored with a run (its text, file name and how bad rows were treated), or null when it is gone. */
  storedRunData(id: string): Promise<{ text: string; fileName: string; onInvalid: 'stop' | 'skip' } | null>;
  /** What the worker's current dataset is (a resumed run's included), or null. */
  currentData(): Promise<DataSummary | null>;
  /** Renames a stored run (its downloads are named after it). */
  renameRun(id: string, name: string): Promise<RunRecord>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the run ends, with its final state. */
  waitForRun(): Promise<RunState>;
  generate(req: GenerationRequest, onToken: (text: string) => void): Promise<string>;
  stopGeneration(): Promise<void>;
  evaluateGenerations(maxSamples: number, maxNewTokens: number): Promise<EvalReport>;
  exportAdapter(): Promise<{ zip: Uint8Array; files: Record<string, Uint8Array> }>;
  exportMerged(dtype: 'F16' | 'BF16'): Promise<{ name: string; bytes: Uint8Array }[]>;
  exportScript(dataFileName: string): Promise<string>;
  /** The adapter as a GGUF LoRA adapter (llama.cpp, Ollama, LM Studio), with a file name. */
  exportGguf(): Promise<{ name: string; bytes: Uint8Array }>;
  /** The two files of an adapter zip, inflated here so a zip bomb never costs the page (formats/adapter-zip.ts). */
  readAdapterZip(zip: Uint8Array, zipName: string): Promise<Map<string, Uint8Array>>;
  importAdapter(config: string, weights: Uint8Array): Promise<void>;
  listRuns(): Promise<RunRecord[]>;
  listStored(): Promise<{ items: StoredItem[]; usage: number | null; quota: number | null; persisted: boolean }>;
  deleteStored(kind: StoredItem['kind'], key: string): Promise<void>;
  learn(layer: number, module: string, block: number): Promise<LearnData>;
}
