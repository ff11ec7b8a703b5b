// The page's state in one object and a minimal observable store: actions in app.ts replace parts of
// it, panels subscribe and redraw what they show. One source of truth keeps the test hooks on
// <body> (runState, step, checkpointStep) consistent with what the panels display.
import type { RunSettings } from '../engine/run-settings';
import type { HistoryPoint, RunState } from '../engine/training-run';
import type { DataSummary, DeviceInfo, DownloadProgress, MemoryReport, ModelSummary, RunRecord } from '../worker/protocol';
import type { ModelSource } from './model-source';
import type { DatasetCheck } from '../data/dataset';

/** The test hook `document.body.dataset.runState`. */
export type Phase = 'idle' | 'loading' | 'training' | 'done' | 'error';

export interface DataInput {
  text: string;
  fileName: string;
  /** 'run': the dataset stored with a resumed or opened run, which the next Start trains on too. */
  origin: 'upload' | 'paste' | 'url' | 'demo' | 'run';
  /** Brought back from browser storage after a reload (session-keeper.ts). */
  kept?: boolean;
  /** The run whose stored dataset this is (origin 'run'). */
  runName?: string;
}

export interface RunView {
  id: string | null;
  state: RunState | null;
  step: number;
  totalSteps: number;
  elapsedMs: number;
  tokensPerSecond: number;
  checkpointStep: number;
  history: HistoryPoint[];
  /** performance.now() of the last step event, so elapsed time can tick between steps. */
  lastEventAt: number;
  /** What the worker is doing before this session's first step (shaders, upload), or null. */
  phase: string | null;
  /**
   * The first step this session ran (1, or the step after a resumed checkpoint): it includes
   * compiling the GPU pipelines, so the ETA is estimated from the steps after it.
   */
  firstSessionStep: number | null;
}

export interface AdapterFiles {
  name: string;
  config: string;
  weights: Uint8Array;
}

export interface AppState {
  settings: RunSettings;
  device: DeviceInfo | null;
  phase: Phase;
  /** What is loading, for the status line. */
  busy: string | null;
  source: ModelSource;
  /** Hub token: in memory unless the user ticks "remember". */
  token: string;
  model: ModelSummary | null;
  /**
   * A resumed run whose model the worker restored itself (from its cache): the page has no summary
   * of it, but generation, export and the Learn view can use it. Its name, or null.
   */
  runModel: string | null;
  /** Identity of the loaded model (source + precision): a change means loading again. */
  modelSig: string | null;
  download: DownloadProgress | null;
  dataInput: DataInput | null;
  data: DataSummary | null;
  /** The chosen dataset checked as soon as it was chosen (no model needed): every problem at once. */
  dataCheck: DatasetCheck | null;
  /** Identity of what setData last saw: a change means tokenizing again. */
  dataSig: string | null;
  onInvalid: 'stop' | 'skip';
  /** Why a dataset chosen before a reload is not back, or could not be kept for the next one. */
  dataNote: string | null;
  memory: MemoryReport | null;
  /** Why there is no estimate (shown in Settings, not as a page error). */
  memoryError: string | null;
  run: RunView;
  runs: RunRecord[];
  /** The worker holds an adapter (trained or imported) that generate / export can use. */
  hasAdapter: boolean;
  imported: AdapterFiles | null;
  /** Start the next run from the imported adapter. */
  continueFromImported: boolean;
  /** Settings fields whose input does not validate: Start waits for them. */
  invalidFields: readonly string[];
  /** A short confirmation ("Link copied"), cleared after a few seconds. */
  notice: string | null;
  error: unknown;
}

/** Run states in which a run holds the GPU (paused included: it resumes where it was). */
export const ACTIVE: readonly (RunState | null)[] = ['training', 'paused'];

export const EMPTY_RUN: RunView = {
  id: null,
  state: null,
  step: 0,
  totalSteps: 0,
  elapsedMs: 0,
  tokensPerSecond: 0,
  checkpointStep: 0,
  history: [],
  lastEventAt: 0,
  phase: null,
  firstSessionStep: null,
};

type Listener<T> = (state: T, prev: T) => void;

export class Store<T extends object> {
  private listeners = new Set<Listener<T>>();
  constructor(private state: T) {}

  get(): T {
    return this.state;
  }

  set(patch: Partial<T>): void {
    const prev = this.state;
    this.state = { ...prev, ...patch };
    for (const fn of this.listeners) fn(this.state, prev);
  }

  /** Calls fn now and after every change; returns the unsubscribe. */
  subscribe(fn: Listener<T>): () => void {
    this.listeners.add(fn);
    fn(this.state, this.state);
    return () => this.listeners.delete(fn);
  }

  /** Calls fn when the selected part changes (by identity). */
  watch<S>(select: (s: T) => S, fn: (value: S, state: T) => void): () => void {
    let last: S | typeof UNSET = UNSET;
    return this.subscribe((s) => {
      const v = select(s);
      if (v !== last) {
        last = v;
        fn(v, s);
      }
    });
  }
}

const UNSET = Symbol('unset');
