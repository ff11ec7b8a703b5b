// One engine for the page and the CLI: the same settings run through the page's path (the engine
// session the worker wraps) and through `qlora train` plan the same steps, hold out the same validation
// examples, log the same losses and write the same adapter bytes, even when the CLI run is killed with
// SIGKILL after step 3 (`--checkpoint-every 2`) and continued with --resume; trainer_state.json then
// holds every step's loss once.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SWIFTSHADER_ICD, nodeAdapter, useSoftwareAdapterIfNoDriver } from '../src/io/node-gpu';
import { memoryStore } from '../src/io/kv-store';
import { EngineSession } from '../src/app-core/session';
import { runStoreOver } from '../src/app-core/run-store';
import type { HistoryPoint } from '../src/engine/training-run';
import { DEFAULT_SETTINGS } from '../src/engine/run-settings';
import type { RunSettings } from '../src/engine/run-settings';
import { ADAPTER_WEIGHTS_FILE } from '../src/engine/peft-adapter';
import { FIXTURES } from './helpers/golden';
import { runCli, jsonLines } from './helpers/cli';

const MODEL = `${FIXTURES}tiny-llama`;
const DATA = `${FIXTURES}alpaca-tiny.json`;
// 10 records: the default 10 % split holds out 1; 9 train in batches of 2 → 5 micro-batches an epoch →
// 3 steps an epoch (2 + 2 + 1 micro-batches); 5 steps cross into the second epoch.
const ARGS = ['--model', MODEL, '--data', DATA, '--limit', '10', '--max-length', '128', '--batch-size', '2', '--grad-accum', '2', '--steps', '5',
  '--lr', '1e-2', '--lora-r', '2', '--target', 'q_proj,v_proj', '--eval-every', '2', '--eval-samples', '0', '--seed', '3'];
const SETTINGS: RunSettings = {
  ...DEFAULT_SETTINGS, model: MODEL, data: DATA, limit: 10, maxLength: 128, batchSize: 2, gradAccum: 2, steps: 5, lr: 1e-2, loraR: 2,
  target: ['q_proj', 'v_proj'], evalEvery: 2, seed: 3,
};

const tmp = () => mkdtempSync(join(tmpdir(), 'qlora-run-'));
const stepLines = (stdout: string) => jsonLines(stdout).filter((l) => 'loss' in l);

/**
 * The page's path: an engine session as the worker makes it (models and runs in key-value stores,
 * here Maps; the GPU from Dawn as the CLI's), given the model folder as picked files and the dataset's text.
 */
async function pageRun(): Promise<{ history: HistoryPoint[]; totalSteps: number; train: number; val: number; weights: Uint8Array }> {
  useSoftwareAdapterIfNoDriver();
  const session = new EngineSession({ requestAdapter: nodeAdapter, models: memoryStore(), runs: runStoreOver(memoryStore()) });
  await session.init();
  const picked = readdirSync(MODEL).filter((f) => f !== 'nf4-expected.safetensors')
    .map((f) => Object.assign(new File([readFileSync(join(MODEL, f))], f), { webkitRelativePath: `tiny-llama/${f}` }));
  await session.loadModel({ kind: 'files', files: picked }, SETTINGS.quant, () => undefined);
  const data = await session.setData(readFileSync(DATA, 'utf8'), 'alpaca-tiny.json', SETTINGS, 'stop');
  const record = await session.startRun(SETTINGS, { onPhase: () => undefined, onStep: () => undefined, onState: () => undefined, onCheckpoint: () => undefined }, null);
  expect(await session.waitForRun()).toBe('done');
  // The page's BLEU / ROUGE (the CLI's end-of-run loop): the one validation record, answered and scored.
  const scored = await session.evaluateGenerations(4, 3);
  expect(scored.samples).toHaveLength(1);
  expect(scored.bleu).toBeGreaterThanOrEqual(0);
  const [stored] = await session.listRuns();
  const { files } = await session.exportAdapter();
  return { history: stored.history, totalSteps: record.totalSteps, train: data.train, val: data.val, weights: files[ADAPTER_WEIGHTS_FILE] };
}

/** `qlora train …` killed with SIGKILL once its step-`afterStep` line is out. */
function killedAfter(args: string[], afterStep: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('../bin/qlora.mjs', import.meta.url).pathname, ...args], {
      env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD },
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stepLines(stdout.slice(0, stdout.lastIndexOf('\n') + 1)).some((l) => l.step === afterStep)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => (signal === 'SIGKILL' ? resolve(stdout) : reject(new Error(`the run ended (${_code}) before step ${afterStep}`))));
  });
}

describe('the page and the CLI train through one engine', () => {
  // One interrupted CLI run stands for both comparisons (each CLI process compiles its GPU pipelines
  // again on SwiftShader): its resumed end must equal the page's run, so it equals an uninterrupted one.
  it('same steps, split, losses and adapter bytes; a run killed after step 3 resumes to the same bytes', async () => {
    const page = await pageRun();
    expect(page.totalSteps).toBe(5);
    expect([page.train, page.val]).toEqual([9, 1]);

    const out = tmp();
    const killed = await killedAfter(['train', ...ARGS, '--checkpoint-every', '2', '--out', out], 3);
    expect(stepLines(killed).map((l) => l.loss)).toEqual(page.history.slice(0, stepLines(killed).length).map((h) => h.loss));
    expect(existsSync(join(out, 'checkpoint-2', 'optimizer.safetensors'))).toBe(true);

    const resumed = await runCli(['train', ...ARGS, '--out', out, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('9 for training, 1 for validation');
    expect(resumed.stderr).toMatch(/; 5 steps, from step [35]/);
    expect(resumed.stderr).toMatch(/resuming from .*checkpoint-[24] \(step [24]\)/);
    expect(Buffer.compare(readFileSync(join(out, ADAPTER_WEIGHTS_FILE)), Buffer.from(page.weights))).toBe(0);
    expect(existsSync(join(out, 'checkpoint-5', 'trainer_state.json'))).toBe(true);
    const log = JSON.parse(readFileSync(join(out, 'trainer_state.json'), 'utf8')).log_history as Record<string, number>[];
    const steps = log.filter((e) => 'loss' in e);
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5]);
    expect(steps.map((e) => e.loss)).toEqual(page.history.map((h) => h.loss));
    expect(log.filter((e) => 'eval_loss' in e).map((e) => [e.step, e.eval_loss])).toEqual(page.history.filter((h) => h.valLoss !== undefined).map((h) => [h.step, h.valLoss]));
  }, 15 * 60_000);
});
