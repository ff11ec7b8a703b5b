// TrainingRun: a run interrupted after a checkpoint and resumed from it ends exactly where an
// uninterrupted run ends (same adapter, same optimizer state, same batches); pause/stop; early stopping;
// the settings' URL form round-trips.
import { describe, it, beforeAll, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import type { GpuContext } from '../src/gpu/context';
import { TrainingRun } from '../src/engine/training-run';
import { splitExamples } from '../src/data/split';
import type { RunCheckpoint } from '../src/engine/training-run';
import { DEFAULT_SETTINGS } from '../src/engine/run-settings';
import { settingsFromQuery, settingsToQuery } from '../src/ui/settings-query';
import type { RunSettings } from '../src/engine/run-settings';
import { loraLayout, initLoraParams } from '../src/engine/lora';
import { buildExamples } from '../src/data/examples';
import { gpu } from './helpers/gpu';
import { loadGolden, FIXTURES } from './helpers/golden';
import type { LoadedGolden } from './helpers/golden';

let ctx: GpuContext;
let g: LoadedGolden;
beforeAll(async () => {
  ctx = await gpu();
  g = await loadGolden(ctx, { model: 'tiny-llama', kind: 'qlora', checkpoint: 'float' });
});

const settings: RunSettings = { ...DEFAULT_SETTINGS, batchSize: 2, steps: 4, lr: 1e-3, loraR: 4, loraAlpha: 8, loraDropout: 0.1, target: ['q_proj', 'v_proj'], checkpointEvery: 2, evalEvery: 2, valSplit: 0.2, seed: 5 };

function data() {
  const records = JSON.parse(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8')).slice(0, 12);
  const { examples } = buildExamples(records, 'alpaca', g.files.tokenizer, { maxLength: 128 });
  return splitExamples(examples, settings.valSplit, settings.seed);
}

describe('TrainingRun', () => {
  it('resuming from a checkpoint reproduces the uninterrupted run exactly', async () => {
    const { train, val } = data();
    expect(val.length).toBe(2);
    const layout = loraLayout(g.files.config, { r: settings.loraR, alpha: settings.loraAlpha, dropout: settings.loraDropout, targets: settings.target, rslora: false });
    const init = initLoraParams(layout, settings.seed);
    const checkpoints: RunCheckpoint[] = [];
    const full = new TrainingRun(ctx, g.weights, layout, train, val, settings, 0, { params: init }, { onCheckpoint: (c) => void checkpoints.push(c) });
    expect(await full.run()).toBe('done');
    full.destroy();
    expect(checkpoints.map((c) => c.step)).toEqual([2, 4]);
    const final = checkpoints[1];
    expect(final.history.map((h) => h.step)).toEqual([1, 2, 3, 4]);
    expect(final.history.filter((h) => h.valLoss !== undefined).map((h) => h.step)).toEqual([2, 4]);

    const resumedCps: RunCheckpoint[] = [];
    const resumed = new TrainingRun(ctx, g.weights, layout, train, val, settings, 0, { checkpoint: checkpoints[0] }, { onCheckpoint: (c) => void resumedCps.push(c) });
    expect(await resumed.run()).toBe('done');
    resumed.destroy();
    const last = resumedCps[resumedCps.length - 1];
    expect(last.step).toBe(4);
    expect(Array.from(last.params)).toEqual(Array.from(final.params));
    expect(Array.from(last.m)).toEqual(Array.from(final.m));
    expect(last.history.map((h) => h.loss)).toEqual(final.history.map((h) => h.loss));
  });

  it('early stopping triggers on a rising validation loss', async () => {
    const { train, val } = data();
    const layout = loraLayout(g.files.config, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'], rslora: false });
    // (Stop itself: the paced test below.)
    // lr so large the validation loss cannot keep improving
    const early = new TrainingRun(ctx, g.weights, layout, train, val, { ...settings, steps: 12, lr: 0.5, evalEvery: 1, patience: 2, maxGradNorm: 0 }, 0, { params: initLoraParams(layout, 1) });
    const state = await early.run().catch((e) => e.code);
    early.destroy();
    expect(['early-stopped', 'NUMERIC']).toContain(state);
  });

  it('stop ends the run with a checkpoint; on a paced context (the page\'s) Stop and Pause land at the end of the step just read, none queued ahead', async () => {
    const { train, val } = data();
    const layout = loraLayout(g.files.config, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'], rslora: false });
    const paced: GpuContext = { ...ctx, pacedSubmission: true };
    const cps: RunCheckpoint[] = [];
    const states: string[] = [];
    const run = new TrainingRun(paced, g.weights, layout, train, val, { ...settings, steps: 50, checkpointEvery: 100, evalEvery: 100 }, 0, { params: initLoraParams(layout, 1) }, {
      onStep: (p) => {
        if (p.step === 2) run.pause();
        if (p.step === 3) run.stop();
      },
      onState: (s) => {
        states.push(s);
        if (s === 'paused') setTimeout(() => run.resume(), 0);
      },
      onCheckpoint: (c) => void cps.push(c),
    });
    expect(await run.run()).toBe('stopped');
    run.destroy();
    expect(states).toEqual(['training', 'paused', 'training', 'stopped']);
    expect(cps.map((c) => c.step)).toEqual([2, 3]);
    expect(cps[1].history.map((h) => h.step)).toEqual([1, 2, 3]);
  });

  it('a diverged run (lr 1e6) stops with NUMERIC naming the step; its adapter is never checkpointed', async () => {
    const { train, val } = data();
    const layout = loraLayout(g.files.config, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'], rslora: false });
    const cps: RunCheckpoint[] = [];
    const run = new TrainingRun(ctx, g.weights, layout, train, val, { ...settings, steps: 4, lr: 1e6, checkpointEvery: 1 }, 0, { params: initLoraParams(layout, 1) }, {
      onCheckpoint: (c) => void cps.push(c),
    });
    const e = await run.run().catch((err) => err);
    run.destroy();
    expect(e.code).toBe('NUMERIC');
    expect(e.message).toMatch(/step 1/);
    expect(cps).toEqual([]);
  });

  it('settings round-trip through the URL; bad names and values are refused', () => {
    const s: RunSettings = { ...DEFAULT_SETTINGS, model: 'http://x/m/', data: 'http://x/d.json', limit: 3, shuffle: false, batchSize: 3, steps: 3, lr: 1e-3, weightDecay: 0.01, maxGradNorm: 1, target: ['q_proj', 'v_proj'], quant: 'f16', initAdapter: 'http://x/a/' };
    const q = settingsToQuery(s);
    expect(settingsFromQuery(q + '&autostart=1')).toEqual({ settings: s, autostart: true });
    expect(() => settingsFromQuery('batchsize=3')).toThrow(/not a known setting/);
    expect(() => settingsFromQuery('lr=fast')).toThrow(/lr/);
    expect(() => settingsFromQuery('target=attn_proj')).toThrow(/target/);
  });
});
