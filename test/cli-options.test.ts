// Pure checks of the CLI's side of the shared engine: the step plan (Hugging Face's count), the options
// becoming the page's RunSettings (same defaults, the page's validator, messages naming the option),
// the parser's messages and help layout, checkpoint folders round-tripping, the merged config naming
// its architecture.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { plannedSteps, stepsPerEpoch } from '../src/engine/step-plan';
import { DEFAULT_SETTINGS } from '../src/engine/run-settings';
import { parseArgs, usage } from '../src/cli/args';
import { TRAIN_OPTIONS, presetNotes, settingsFromOptions } from '../src/cli/train-options';
import { applyPreset, findPreset, RUN_PRESETS } from '../src/engine/run-presets';
import { MERGE_OPTIONS } from '../src/cli/merge';
import { checkpointFiles, historyFromLog, logHistory, readCheckpoint, readCheckpointHead } from '../src/export/checkpoint-folder';
import type { RunCheckpoint } from '../src/engine/training-run';
import { loraLayout } from '../src/engine/lora';
import { parseModelConfig } from '../src/formats/model-config';
import { mergedConfigJson } from '../src/export/merged-model';
import { QWEN3_5_TEXT_CONFIG, qwen3_5VlConfig } from './helpers/qwen3_5-vl';
import { splitExamples } from '../src/data/split';
import { FIXTURES } from './helpers/golden';

describe('the step plan', () => {
  it("counts steps as HF Trainer: ⌈batches / accumulation⌉ an epoch, times the epochs", () => {
    // 5 examples, batch 2, accumulation 2: 3 micro-batches an epoch → 2 steps (2 + 1) → 6 in 3 epochs.
    expect(stepsPerEpoch(5, 2, 2)).toBe(2);
    expect(plannedSteps({ batchSize: 2, gradAccum: 2, steps: null, epochs: 3 }, 5)).toBe(6);
    expect(plannedSteps({ batchSize: 2, gradAccum: 2, steps: 4, epochs: 3 }, 5)).toBe(4);
    expect(plannedSteps({ batchSize: 4, gradAccum: 1, steps: null, epochs: 0.5 }, 10)).toBe(2);
    expect(plannedSteps({ batchSize: 8, gradAccum: 4, steps: null, epochs: 1 }, 3)).toBe(1);
  });
});

describe('qlora train options', () => {
  const base = ['--model', 'm', '--data', 'd.json', '--out', 'o'];
  it("are the page's settings with the page's defaults", () => {
    const s = settingsFromOptions(parseArgs(base, TRAIN_OPTIONS, 'train'));
    expect(s).toEqual({ ...DEFAULT_SETTINGS, model: 'm', data: 'd.json' });
    const t = settingsFromOptions(parseArgs([...base, '--val-split', '0.2', '--eval-every', '5', '--patience', '3', '--checkpoint-every', '7', '--no-shuffle'], TRAIN_OPTIONS, 'train'));
    expect(t).toMatchObject({ valSplit: 0.2, evalEvery: 5, patience: 3, checkpointEvery: 7, shuffle: false });
  });
  it('--columns is the column mapping, as the page and its links write it', () => {
    const s = settingsFromOptions(parseArgs([...base, '--columns', 'instruction=question,output=answer'], TRAIN_OPTIONS, 'train'));
    expect(s.columns).toEqual({ instruction: 'question', output: 'answer' });
    expect(() => settingsFromOptions(parseArgs([...base, '--columns', 'answer'], TRAIN_OPTIONS, 'train'))).toThrow(/"answer" is not a record field/);
  });
  it("are checked by the page's validator, whose message names the option", () => {
    expect(() => settingsFromOptions(parseArgs([...base, '--batch-size', '0'], TRAIN_OPTIONS, 'train'))).toThrow(/^--batch-size must be an integer from 1/);
    expect(() => settingsFromOptions(parseArgs([...base, '--val-split', '0.9'], TRAIN_OPTIONS, 'train'))).toThrow(/^--val-split must be/);
  });
  it('--preset is the page\'s recipe, applied before the other options, which override it', () => {
    const opts = (...more: string[]) => settingsFromOptions(parseArgs([...base, ...more], TRAIN_OPTIONS, 'train'));
    const m = { ...DEFAULT_SETTINGS, model: 'm', data: 'd.json' };
    for (const p of RUN_PRESETS) {
      // The page's recipe exactly, but for the model: --model names it here (the chat preset's included).
      expect(opts('--preset', p.id), p.id).toEqual({ ...applyPreset(m, p), model: 'm' });
    }
    const cls = opts('--lr', '3e-4', '--preset', 'classifier', '--patience', '0', '--seed', '5');
    expect(cls).toEqual({ ...applyPreset(m, findPreset('classifier')!), lr: 3e-4, patience: 0, seed: 5 });
    // Flags add to the recipe; the recipe's own on-flags stay on.
    expect(opts('--preset', 'style-persona', '--rslora', '--no-shuffle')).toMatchObject({ rslora: true, shuffle: false, loraR: 8 });
    expect(opts('--preset', 'small-gpu').gradientCheckpointing).toBe(true);
    // The options are still checked, naming the option.
    expect(() => opts('--preset', 'small-gpu', '--batch-size', '0')).toThrow(/^--batch-size must be/);
  });
  it('an unknown --preset is refused with the list; --help lists each with its reason', () => {
    expect(() => parseArgs([...base, '--preset', 'chat'], TRAIN_OPTIONS, 'train')).toThrow(/^--preset must be one of chat-assistant, classifier, style-persona, small-gpu; got "chat"/);
    expect(() => settingsFromOptions({ ...parseArgs(base, TRAIN_OPTIONS, 'train'), preset: 'chat' })).toThrow(/^--preset must be one of chat-assistant, classifier/);
    const notes = presetNotes();
    for (const p of RUN_PRESETS) {
      expect(notes).toContain(`  ${p.id}  `);
      expect(notes.replace(/\n +/g, ' ')).toContain(p.why); // the whole reason, wrapped
    }
    for (const line of notes.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });
  it('name the closest option when one is mistyped, without repeating the command', () => {
    expect(() => parseArgs(['--step', '3'], TRAIN_OPTIONS, 'train')).toThrow(/^unknown option --step\. Did you mean --steps\? Run "qlora train --help"\.$/);
    expect(() => parseArgs(['--frobnicate'], TRAIN_OPTIONS, 'train')).toThrow(/^unknown option --frobnicate\. Run/);
  });
  it('--resume takes a folder or nothing', () => {
    expect(parseArgs(['--resume', '--out', 'o'], TRAIN_OPTIONS, 'train')).toEqual({ resume: '', out: 'o' });
    expect(parseArgs(['--resume'], TRAIN_OPTIONS, 'train')).toEqual({ resume: '' });
    expect(parseArgs(['--resume', 'checkpoint-4'], TRAIN_OPTIONS, 'train')).toEqual({ resume: 'checkpoint-4' });
  });
  it('help keeps at least two spaces between every option and its help', () => {
    for (const [cmd, opts] of [['train', TRAIN_OPTIONS], ['merge', MERGE_OPTIONS]] as const) {
      const lines = usage(cmd, 'x', opts).split('\n').filter((l) => l.startsWith('  --'));
      expect(lines.length).toBe(Object.keys(opts).length);
      for (const l of lines) expect(l, l).toMatch(/^ {2}--\S+( [<[]\S+[>\]])? {2,}\S/);
    }
    expect(usage('train', 'x', TRAIN_OPTIONS)).toMatch(/--format <alpaca\|chat\|completion\|text> +record format/);
  });
});

describe('checkpoint folders', () => {
  it('read back exactly what was written: parameters, moments, position, history, settings', () => {
    const config = parseModelConfig(JSON.parse(readFileSync(`${FIXTURES}tiny-llama/config.json`, 'utf8')));
    const layout = loraLayout(config, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'], rslora: false });
    const n = layout.totalFloats;
    const f = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) / 3);
    const c: RunCheckpoint = {
      step: 4, totalSteps: 9, position: { epoch: 1, index: 2 }, params: f(1), m: f(2), v: f(3).map(Math.abs),
      history: [1, 2, 3, 4].map((step) => ({ step, loss: 1 / step + 1e-9, lr: 1e-3, tokens: 10 * step, ms: 5, gradNorm: 0.1 * step, epoch: step / 3, ...(step % 2 ? {} : { valLoss: 2 / step }) })),
      bestValLoss: 0.5, evalsWithoutImprovement: 1, elapsedMs: 1234,
    };
    const settings = { ...DEFAULT_SETTINGS, model: 'm', data: 'd', loraR: 2, loraAlpha: 4, loraDropout: 0, target: ['q_proj' as const], patience: 3 };
    const files = checkpointFiles(c, layout, settings, { fingerprint: 'abcd0123', trainExamples: 9, valExamples: 1 }, null);
    const read = (name: string) => files[name];
    const head = readCheckpointHead(read, 'cp');
    expect(head).toEqual({ settings, lora: layout.settings, data: { fingerprint: 'abcd0123', trainExamples: 9, valExamples: 1 }, step: 4 });
    expect(readCheckpoint(read, 'cp', layout)).toEqual(c);
    const state = JSON.parse(new TextDecoder().decode(files['trainer_state.json']));
    expect(state).toMatchObject({ global_step: 4, max_steps: 9, best_metric: 0.5, logging_steps: 1, eval_steps: settings.evalEvery });
    expect(state.log_history.filter((e: object) => 'loss' in e).length).toBe(4);
    expect(historyFromLog(logHistory(c.history), 'x')).toEqual(c.history);
  });
});

describe('shared pieces', () => {
  it('splitExamples holds out the same examples for the same seed', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i);
    expect(splitExamples(xs, 0.1, 7)).toEqual(splitExamples(xs, 0.1, 7));
    expect(splitExamples(xs, 0.1, 7).val.length).toBe(2);
    expect(splitExamples(xs.slice(0, 9), 0.5, 7).val).toEqual([]);
  });
  it("the merged config names its architecture when the base's did not", () => {
    expect(mergedConfigJson({ model_type: 'llama', architectures: null }, 'BF16', 'llama').architectures).toEqual(['LlamaForCausalLM']);
    expect(mergedConfigJson({ model_type: 'gemma3_text' }, 'F16', 'gemma3_text').architectures).toEqual(['Gemma3ForCausalLM']);
    expect(mergedConfigJson({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] }, 'F16', 'qwen2').architectures).toEqual(['Qwen2ForCausalLM']);
    // A Qwen3_5ForConditionalGeneration base: its text model's config (the merged weights are the text model's).
    const text = mergedConfigJson(qwen3_5VlConfig({}, { tie_word_embeddings: undefined }), 'BF16', 'qwen3_5_text');
    expect(text).toMatchObject({ architectures: ['Qwen3_5ForCausalLM'], model_type: 'qwen3_5_text', tie_word_embeddings: true, torch_dtype: 'bfloat16' });
    expect(text.text_config).toBeUndefined();
    const { architectures: _a, torch_dtype: _t, ...fields } = text;
    const { architectures: _b, ...fixture } = QWEN3_5_TEXT_CONFIG;
    expect(fields).toEqual(fixture);
  });
});
