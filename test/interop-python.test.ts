// Interop proven by the real tools: adapters the CLI trains, loaded by PEFT (transformers 5, float64 on
// the CPU) with no missing or unexpected keys and the loss our `qlora eval` reports; the adapter found
// from another working directory through its base_model_name_or_path; the merged export loaded by
// transformers against PEFT's merge_and_unload(). The Python stack comes from test/helpers/python-oracle.ts;
// where it cannot be installed every test here is skipped, with the reason printed.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, beforeAll } from 'vitest';
import { readModelFiles } from '../src/io/model-files';
import { dirReader, writeFiles } from '../src/io/node-files';
import { prepareDataset } from '../src/data/dataset';
import { parseColumnMapping } from '../src/data/columns';
import { prepareBaseWeights } from '../src/engine/base-weights';
import { mergedModelFiles } from '../src/export/merged-model';
import { pythonTrainingScript } from '../src/export/python-script';
import { readAdapter } from './helpers/golden';
import { readAdapterWeights } from '../src/engine/peft-adapter';
import { FIXTURES } from './helpers/golden';
import { runCli, jsonLines } from './helpers/cli';
import { pythonOracle } from './helpers/python-oracle';
import type { Oracle } from './helpers/python-oracle';

const DATA = `${FIXTURES}alpaca-tiny.json`;
const DATA_OPTS = ['--data', DATA, '--format', 'alpaca', '--limit', '4', '--max-length', '128'];

/** The examples `qlora eval` computes its loss on, for PEFT to compute the same loss on. */
async function examples(modelDir: string): Promise<{ input_ids: number[]; labels: number[] }[]> {
  const files = await readModelFiles(dirReader(modelDir));
  const data = prepareDataset(readFileSync(DATA, 'utf8'), 'alpaca-tiny.json', files.tokenizer, { format: 'alpaca', limit: 4, maxLength: 128, onInvalid: 'stop' });
  return data.examples.map((e) => ({ input_ids: [...e.inputIds], labels: [...e.labels] }));
}

let oracle: Oracle = { ok: false, reason: 'not started' };
beforeAll(() => {
  oracle = pythonOracle();
  if (!oracle.ok) console.warn(`SKIPPED interop-python: ${oracle.reason}`);
}, 30 * 60_000);

const skip = () => !oracle.ok;
const run = (job: Record<string, unknown>) => (oracle.ok ? oracle.run(job) : {});

// f32 base: PEFT on the same float checkpoint. NF4 base: PEFT on the bitsandbytes checkpoint of the same
// weights, dequantized in Python as bitsandbytes does (our NF4 of the float weights is that checkpoint, bit for bit).
const CASES = [
  { model: 'tiny-llama', quant: 'f32', rtol: 1e-6 },
  { model: 'tiny-qwen2', quant: 'nf4', rtol: 1e-6 },
  { model: 'tiny-qwen3', quant: 'f32', rtol: 1e-6 },
  { model: 'tiny-gemma3', quant: 'nf4', rtol: 1e-6 },
  { model: 'tiny-qwen3_5', quant: 'f32', rtol: 1e-6 }, // all twelve projections, linear layers included
] as const;

describe('adapters the CLI trains, in PEFT', () => {
  for (const c of CASES) {
    it(`${c.model} on a ${c.quant} base: PeftModel loads every key, no warning, and computes our eval loss`, async (ctx) => {
      if (skip()) return ctx.skip();
      const out = mkdtempSync(join(tmpdir(), 'qlora-peft-'));
      const train = await runCli(['train', '--model', `${FIXTURES}${c.model}`, ...DATA_OPTS, '--no-shuffle', '--batch-size', '2', '--steps', '2',
        '--lr', '1e-2', '--lora-r', '4', '--lora-dropout', '0', '--quant', c.quant, '--out', out]);
      expect(train.code, train.stderr).toBe(0);
      const evaluated = await runCli(['eval', '--model', `${FIXTURES}${c.model}`, '--quant', c.quant, '--adapter', out, ...DATA_OPTS]);
      expect(evaluated.code, evaluated.stderr).toBe(0);
      const ours = jsonLines(evaluated.stdout).at(-1) as { loss: number; tokens: number };
      const base = `${FIXTURES}${c.model}${c.quant === 'nf4' ? '-bnb-nf4' : ''}`;
      const peft = run({ job: 'peft_loss', base, adapter: out, examples: await examples(`${FIXTURES}${c.model}/`) }) as {
        loss: number; tokens: number; warnings: string[]; missing: string[]; unexpected: string[];
      };
      expect(peft.missing).toEqual([]);
      expect(peft.unexpected).toEqual([]);
      expect(peft.warnings).toEqual([]);
      expect(peft.tokens).toBe(ours.tokens);
      expect(Math.abs(ours.loss - peft.loss) / peft.loss, `ours ${ours.loss}, PEFT ${peft.loss}`).toBeLessThan(c.rtol);
      if (c.quant === 'f32') {
        // base_model_name_or_path must let AutoPeftModelForCausalLM find the base from anywhere.
        const auto = run({ job: 'auto_peft', adapter: out, cwd: tmpdir(), examples: await examples(`${FIXTURES}${c.model}/`) }) as { loss: number };
        expect(Math.abs(auto.loss - peft.loss) / peft.loss).toBeLessThan(1e-12);
      }
    }, 15 * 60_000);
  }
});

// Adapters PEFT made itself, as people bring them: all-linear (saved as the module list), rsLoRA, a regex
// target_modules, saved in F32 and in BF16. Ours must compute PEFT's loss and its greedy continuation.
const PEFT_MADE = [
  { model: 'tiny-llama', dtype: 'float32', lora: { r: 4, lora_alpha: 8, target_modules: 'all-linear' } },
  { model: 'tiny-qwen3', dtype: 'bfloat16', lora: { r: 8, lora_alpha: 16, use_rslora: true, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] } },
  { model: 'tiny-gemma3', dtype: 'float32', lora: { r: 4, lora_alpha: 4, target_modules: '.*\\.(q_proj|v_proj|down_proj)' } },
] as const;

describe('adapters PEFT makes, here', () => {
  for (const c of PEFT_MADE) {
    it(`${c.model}: a ${c.dtype} PEFT adapter (${JSON.stringify(c.lora.target_modules)}${'use_rslora' in c.lora ? ', rsLoRA' : ''}) gives PEFT's loss and greedy ids`, async (ctx) => {
      if (skip()) return ctx.skip();
      const out = mkdtempSync(join(tmpdir(), 'peft-made-'));
      const modelDir = `${FIXTURES}${c.model}/`;
      const ex = await examples(modelDir);
      const prompt = 'Name a primary color.';
      const promptIds = (await readModelFiles(dirReader(modelDir))).tokenizer.encode(prompt);
      const peft = run({ job: 'peft_adapter', base: modelDir, out, lora: c.lora, dtype: c.dtype, examples: ex, prompt_ids: promptIds, new_tokens: 8 }) as { loss: number; greedy_ids: number[] };
      const evaluated = await runCli(['eval', '--model', modelDir, '--quant', 'f32', '--adapter', out, ...DATA_OPTS]);
      expect(evaluated.code, evaluated.stderr).toBe(0);
      const ours = jsonLines(evaluated.stdout).at(-1) as { loss: number };
      expect(Math.abs(ours.loss - peft.loss) / peft.loss, `ours ${ours.loss}, PEFT ${peft.loss}`).toBeLessThan(1e-6);
      const generated = await runCli(['generate', '--model', modelDir, '--quant', 'f32', '--adapter', out, '--prompt', prompt, '--template', 'none', '--max-new-tokens', '8', '--greedy', '--ignore-eos']);
      expect(generated.code, generated.stderr).toBe(0);
      expect((jsonLines(generated.stdout).at(-1) as { ids: number[] }).ids).toEqual(peft.greedy_ids);
    }, 10 * 60_000);
  }
});

// The exported script, run as a user runs it (CPU, f32 base, 2 steps): SFTTrainer must see the tokens and
// loss masks the browser trained on, for Alpaca records and for conversations.
describe('the exported PEFT + TRL script', () => {
  const chats = [
    { messages: [{ role: 'user', content: 'Name a primary color.' }, { role: 'assistant', content: 'Red.' }] },
    { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'Say bye' }, { role: 'assistant', content: 'Bye.' }] },
    { messages: [{ role: 'user', content: 'What is 2 + 2?' }, { role: 'assistant', content: 'Four.' }] },
  ];
  for (const format of ['alpaca', 'chat'] as const) {
    it(`${format}: runs 2 steps on the CPU, with our tokens and labels`, async (ctx) => {
      if (skip()) return ctx.skip();
      // tiny-llama: transformers 5.18 loads tiny-qwen2's byte-level tokenizer.json through Qwen2Tokenizer,
      // which imposes Qwen2's own digit-splitting pre-tokenizer ("107" → 1, 0, 7 where tokenizer.json and
      // data-golden.json say 10, 7); real Qwen2 checkpoints carry that pre-tokenizer in tokenizer.json.
      const modelDir = `${FIXTURES}tiny-llama/`;
      const cwd = mkdtempSync(join(tmpdir(), 'trl-script-'));
      const records = format === 'alpaca' ? JSON.parse(readFileSync(DATA, 'utf8')).slice(0, 4) : chats;
      const text = JSON.stringify(records);
      await writeFiles(cwd, { 'data.json': new TextEncoder().encode(text) });
      const script = pythonTrainingScript({
        modelId: modelDir, dataFileName: 'data.json', format, maxLength: 128, batchSize: 2, gradAccum: 1, steps: 2, lr: 1e-3, scheduler: 'constant',
        warmupSteps: 0, weightDecay: 0, maxGradNorm: 1, lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], rslora: false },
        quant: 'f32', seed: 0, gradientCheckpointing: false, valSplit: 0, outputDir: 'out',
      });
      await writeFiles(cwd, { 'train.py': new TextEncoder().encode(script) });
      const r = run({ job: 'trl_script', script: join(cwd, 'train.py'), cwd }) as { rows: { input_ids: number[]; labels: number[] | null }[]; losses: number[] };
      const files = await readModelFiles(dirReader(modelDir));
      const ours = prepareDataset(text, 'data.json', files.tokenizer, { format, maxLength: 128, onInvalid: 'stop' }).examples;
      expect(r.rows.map((row) => row.input_ids)).toEqual(ours.map((e) => [...e.inputIds]));
      expect(r.rows.map((row) => row.labels)).toEqual(ours.map((e) => [...e.labels]));
      expect(r.losses).toHaveLength(2);
      for (const loss of r.losses) expect(Number.isFinite(loss)).toBe(true);
      expect(readFileSync(join(cwd, 'out', 'adapter_config.json'), 'utf8')).toMatch(/"peft_type": "LORA"/);
    }, 10 * 60_000);
  }
});

// The script's own reading of the file: the browser's column mapping and the rows it skipped (a bad JSON
// line, a record without the mapped answer, an empty answer) give the examples the browser trained on.
describe("the exported script's data", () => {
  it('reads the columns the mapping names and skips the rows the browser skipped', async (ctx) => {
    if (skip()) return ctx.skip();
    const modelDir = `${FIXTURES}tiny-llama/`;
    const cwd = mkdtempSync(join(tmpdir(), 'script-data-'));
    const text = [
      JSON.stringify({ question: 'Name a primary color.', answer: 'Red.' }),
      '{"question": "no closing brace"',
      JSON.stringify({ question: 'Capital of France?', context: 'Europe', answer: 'Paris.' }),
      JSON.stringify({ question: 'Missing answer' }),
      JSON.stringify({ question: 'Empty answer', answer: ' ' }),
      JSON.stringify({ question: 'What is 2 + 2?', answer: 'Four.' }),
    ].join('\n') + '\n';
    const columns = parseColumnMapping('instruction=question,input=context,output=answer');
    const files = await readModelFiles(dirReader(modelDir));
    const ours = prepareDataset(text, 'qa.jsonl', files.tokenizer, { format: 'alpaca', columns, maxLength: 128, onInvalid: 'skip' });
    expect(ours.examples.map((e) => e.recordIndex)).toEqual([0, 1, 4]);
    await writeFiles(cwd, { 'qa.jsonl': new TextEncoder().encode(text) });
    const script = pythonTrainingScript({
      modelId: modelDir, dataFileName: 'qa.jsonl', format: 'alpaca', columns, onInvalid: 'skip', skipped: [...ours.lineErrors, ...ours.recordErrors],
      maxLength: 128, batchSize: 2, gradAccum: 1, steps: 1, lr: 1e-3, scheduler: 'constant', warmupSteps: 0, weightDecay: 0, maxGradNorm: 1,
      lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj'], rslora: false }, quant: 'f32', seed: 0, gradientCheckpointing: false, valSplit: 0, outputDir: 'out',
    });
    expect(script).toContain('COLUMNS = {"instruction": "question", "input": "context", "output": "answer"}');
    expect(script).toMatch(/# {3}line 2: not valid JSON/);
    await writeFiles(cwd, { 'train.py': new TextEncoder().encode(script) });
    const r = run({ job: 'script_data', script: join(cwd, 'train.py'), cwd }) as { rows: { input_ids: number[]; labels: number[] }[] };
    expect(r.rows.map((row) => row.input_ids)).toEqual(ours.examples.map((e) => [...e.inputIds]));
    expect(r.rows.map((row) => row.labels)).toEqual(ours.examples.map((e) => [...e.labels]));
  }, 10 * 60_000);
});

/** The merged folder `dir`, loaded by transformers, against PEFT's merge_and_unload() of base + adapter cast to F16. */
async function expectMergeOfPeft(dir: string, modelDir: string, adapterDir: string): Promise<void> {
  const ids = (await examples(modelDir)).slice(0, 2).map((e) => e.input_ids.slice(0, 20));
  const r = run({ job: 'merged_logits', merged: dir, base: modelDir, adapter: adapterDir, input_ids: ids }) as {
    dtype: string; extra: string[]; max_weight_diff: number; worst_weight: string; max_logit_diff: number; max_logit: number;
  };
  expect(r.dtype).toBe('float16');
  expect(r.extra).toEqual([]);
  // Our f16 rounding of W + scale·B·A against torch's of the same sum: at most one f16 step of the
  // largest merged weights (|w| < 1 here), where the two sums round to neighbours.
  expect(r.max_weight_diff, r.worst_weight).toBeLessThanOrEqual(2 ** -11);
  expect(r.max_logit_diff / r.max_logit).toBeLessThan(1e-3);
}

describe('the merged export, in transformers', () => {
  for (const model of ['tiny-llama', 'tiny-gemma3']) {
    it(`${model}: AutoModelForCausalLM loads it, weights and logits equal merge_and_unload() cast to F16`, async (ctx) => {
      if (skip()) return ctx.skip();
      // The golden adapter after 3 steps on the float base (plain LoRA): the merge is W + scale·B·A in f16.
      const modelDir = `${FIXTURES}${model}/`;
      const adapterDir = `${FIXTURES}golden/${model}/lora/adapter_step3/`;
      const files = await readModelFiles(dirReader(modelDir));
      const adapter = readAdapter(adapterDir);
      const layout = adapter.layout(files.config);
      const dir = mkdtempSync(join(tmpdir(), 'qlora-merged-'));
      for (const f of mergedModelFiles({
        config: files.config, configJson: JSON.parse(readFileSync(modelDir + 'config.json', 'utf8')), weights: prepareBaseWeights(files.tensors, files.config, 'f32'),
        layout, params: readAdapterWeights(adapter.file, layout), dtype: 'F16',
        tokenizerFiles: Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].map((n) => [n, readFileSync(modelDir + n, 'utf8')])),
      })) await writeFiles(dir, { [f.name]: f.bytes });
      await expectMergeOfPeft(dir, modelDir, adapterDir);
    }, 10 * 60_000);
  }

  it('qlora merge: transformers loads the folder (architectures named), weights equal merge_and_unload()', async (ctx) => {
    if (skip()) return ctx.skip();
    const modelDir = `${FIXTURES}tiny-llama/`;
    const adapterDir = `${FIXTURES}golden/tiny-llama/lora/adapter_step3/`;
    const dir = join(mkdtempSync(join(tmpdir(), 'qlora-merge-cli-')), 'merged');
    const merged = await runCli(['merge', '--model', modelDir, '--adapter', adapterDir, '--out', dir, '--dtype', 'f16', '--quant', 'f32']);
    expect(merged.code, merged.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).architectures).toEqual(['LlamaForCausalLM']);
    await expectMergeOfPeft(dir, modelDir, adapterDir);
  }, 10 * 60_000);
});
