// The `qlora` CLI end to end: `train` with the golden settings reproduces golden.json's losses and
// writes an adapter matching adapter_step3; `generate` and `eval` print their JSON; usage errors and a
// missing GPU say what to do.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli, jsonLines } from './helpers/cli';
import { FIXTURES, readGolden, readSafetensors } from './helpers/golden';
import { writeQwen3_5VlCheckpoint } from './helpers/qwen3_5-vl';
import { l2 } from './helpers/compare';
import { loraLayout } from '../src/engine/lora';
import { parseAdapterConfig, readAdapterWeights, slotTensors, peftKey } from '../src/engine/peft-adapter';
import { parseModelConfig } from '../src/formats/model-config';

const tmp = () => mkdtempSync(join(tmpdir(), 'qlora-cli-'));

/** alpaca-tiny's first three records (the golden batch) under other names: question / context / answer. */
function renamedAlpaca(): string {
  const file = join(tmp(), 'qa.jsonl');
  const records = JSON.parse(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8')).slice(0, 3) as { instruction: string; input: string; output: string }[];
  writeFileSync(file, records.map((r) => JSON.stringify({ question: r.instruction, context: r.input, answer: r.output })).join('\n') + '\n');
  return file;
}

// Qwen3.5 from a checkpoint in the released Qwen3_5ForConditionalGeneration layout made from the fixture
// (text weights under model.language_model., a vision tower and an MTP head): the same golden numbers.
const TRAIN_CASES = [
  { model: 'tiny-llama', layout: 'text' },
  { model: 'tiny-qwen3', layout: 'text' },
  { model: 'tiny-gemma3', layout: 'text' },
  { model: 'tiny-qwen3_5', layout: 'Qwen3_5ForConditionalGeneration' },
] as const;

describe('qlora train', () => {
  it.each(TRAIN_CASES)('reproduces the golden $model QLoRA run ($layout checkpoint): losses and adapter_step3', async ({ model, layout: checkpointLayout }) => {
    const run = { model, kind: 'qlora', checkpoint: 'float' } as const;
    const golden = readGolden(run);
    const gdir = `${FIXTURES}golden/${model}/qlora/`;
    const modelDir = checkpointLayout === 'text' ? `${FIXTURES}${model}` : writeQwen3_5VlCheckpoint();
    const out = tmp();
    const r = await runCli([
      'train', '--model', modelDir, '--data', `${FIXTURES}alpaca-tiny.json`, '--limit', '3', '--no-shuffle',
      '--batch-size', '3', '--steps', '3', '--lr', '1e-3', '--weight-decay', '0.01', '--max-grad-norm', '1.0',
      '--init-adapter', `${gdir}adapter_init`, '--quant', 'nf4', '--out', out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(r.stderr).toMatch(/loading the model from [\s\S]*compiling GPU shaders and running the first step/);
    for (const l of lines) expect(Object.keys(l).sort()).toEqual(['loss', 'lr', 'ms', 'step', 'tokens']);
    lines.forEach((l, i) => expect(Math.abs((l.loss as number) - golden.losses[i]) / golden.losses[i], `loss ${i + 1}`).toBeLessThan(1e-5));

    const cfg = parseModelConfig(JSON.parse(readFileSync(`${FIXTURES}${model}/config.json`, 'utf8')));
    const written = parseAdapterConfig(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')));
    const layout = loraLayout(cfg, written.settings);
    const ours = readAdapterWeights(readSafetensors(join(out, 'adapter_model.safetensors')), layout);
    const want = readAdapterWeights(readSafetensors(`${gdir}adapter_step3/adapter_model.safetensors`), layout);
    const init = readAdapterWeights(readSafetensors(`${gdir}adapter_init/adapter_model.safetensors`), layout);
    for (const slot of layout.slots) {
      for (const which of ['A', 'B'] as const) {
        const [o, w, i0] = [ours, want, init].map((p) => slotTensors(layout, p, slot)[which]);
        const err = l2(o.map((v, i) => v - w[i])) / l2(w.map((v, i) => v - i0[i]));
        expect(err, peftKey(slot, which)).toBeLessThanOrEqual(1e-3);
      }
    }
    const cfgJson = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfgJson).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, bias: 'none', use_rslora: false });
    // Loadable from any directory (AutoPeftModelForCausalLM), with PEFT's model card beside it.
    expect(cfgJson.base_model_name_or_path).toBe(resolve(modelDir));
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toMatch(/library_name: peft[\s\S]*LoRA r=8, alpha=16/);
  });

  it('refuses a bad option value with a message naming it', async () => {
    const r = await runCli(['train', '--model', `${FIXTURES}tiny-llama`, '--data', `${FIXTURES}alpaca-tiny.json`, '--batch-size', 'two', '--steps', '1', '--lr', '1e-3', '--out', tmp()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--batch-size must be an integer');
  });

  it('reports malformed records by their line in the file and stops', async () => {
    const dir = tmp();
    const data = join(dir, 'bad.jsonl');
    writeFileSync(data, '{"instruction":"a","output":"b"}\n{"instruction":"c"}\n{"instruction":"d","output":"e"}\n');
    const r = await runCli(['train', '--model', `${FIXTURES}tiny-llama`, '--data', data, '--format', 'alpaca', '--batch-size', '1', '--steps', '1', '--lr', '1e-3', '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2: missing field "output"/);
    expect(r.stderr).toContain('DATASET_INVALID');
    expect(r.stderr).toContain('pass --skip-invalid'); // the CLI's way past bad records, named where they stop it
  });

  it('a --data file that is not there is reported before the model loads, once prefixed', async () => {
    for (const [cmd, ...extra] of [['train', '--out', tmp()], ['eval']]) {
      const r = await runCli([cmd, '--model', `${FIXTURES}tiny-llama`, '--data', join(tmp(), 'missing.json'), ...extra]);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`^qlora ${cmd}: .*missing\\.json`));
      expect(r.stderr).not.toContain(`qlora ${cmd}: qlora`);
      expect(r.stderr).not.toContain('loading the model');
    }
  });

  it('says when there is no GPU and how to use a software adapter', async () => {
    const r = await runCli(['generate', '--model', `${FIXTURES}tiny-llama`, '--prompt', 'hi', '--max-new-tokens', '1'], { VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WEBGPU_UNAVAILABLE');
    expect(r.stderr).toContain('VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json');
  });
});

describe('qlora --columns', () => {
  it('without a mapping, says so before opening the GPU, naming the columns and --columns', async () => {
    // No GPU at all: the dataset's problem is still what is reported, so it came first.
    const r = await runCli(['train', '--model', `${FIXTURES}tiny-llama`, '--data', renamedAlpaca(), '--steps', '1', '--out', join(tmp(), 'out')], { VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DATASET_INVALID');
    expect(r.stderr).toMatch(/"question", "context", "answer"/);
    expect(r.stderr).toContain('--columns instruction=question,output=answer');
    expect(r.stderr).not.toContain('--skip-invalid');
    const bad = await runCli(['train', '--model', `${FIXTURES}tiny-llama`, '--data', renamedAlpaca(), '--columns', 'question=instruction', '--out', join(tmp(), 'out')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"question" is not a record field/);
  });
});

describe('qlora generate / eval', () => {
  it('generate prints the golden greedy ids with the trained adapter', async () => {
    const golden = readGolden({ model: 'tiny-qwen2', kind: 'lora', checkpoint: 'float' });
    const r = await runCli([
      'generate', '--model', `${FIXTURES}tiny-qwen2`, '--quant', 'f32', '--adapter', `${FIXTURES}golden/tiny-qwen2/lora/adapter_step3`,
      '--prompt', 'Name a primary color.', '--template', 'alpaca', '--max-new-tokens', '12', '--greedy', '--ignore-eos',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [out] = jsonLines(r.stdout);
    expect(out.ids).toEqual(golden.generation.greedy_new_ids);
    // Each long phase says so on stderr before it starts (a newcomer otherwise sees nothing for minutes).
    expect(r.stderr).toMatch(/loading the model from [\s\S]*generating up to 12 tokens .*compiles the GPU shaders/);
    expect(typeof out.text).toBe('string');
  });

  it('eval prints the loss of the golden batch after training (its records under other names, read through --columns)', async () => {
    const golden = readGolden({ model: 'tiny-qwen2', kind: 'lora', checkpoint: 'float' });
    const r = await runCli([
      'eval', '--model', `${FIXTURES}tiny-qwen2`, '--quant', 'f32', '--adapter', `${FIXTURES}golden/tiny-qwen2/lora/adapter_step3`,
      '--data', renamedAlpaca(), '--columns', 'instruction=question,input=context,output=answer', '--batch-size', '3',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [out] = jsonLines(r.stdout);
    expect(Math.abs((out.loss as number) - golden.losses[3]) / golden.losses[3]).toBeLessThan(1e-5);
    expect(r.stderr).toMatch(/loading the model from [\s\S]*evaluating 3 examples in 1 batches \(the first compiles the GPU shaders\)/);
    const targets = golden.batch.labels.flat().filter((l, i) => l !== -100 && i % golden.batch.labels[0].length > 0).length;
    expect(out.tokens).toBe(targets);
  });
});
