// Exports: the adapter folder / zip reads back as the same adapter; the merged model reads back (with
// our own loader, from the files written to disk) as W + scale·B·A within 16-bit rounding, PEFT's own
// merge of layer 0 included; sharding and the index follow the Hub layout; the Python script parses
// and carries the run's settings.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { readModelFiles } from '../src/io/model-files';
import type { LoadedModelFiles } from '../src/io/model-files';
import { dirReader, writeFiles } from '../src/io/node-files';
import { prepareBaseWeights } from '../src/engine/base-weights';
import type { HostModelWeights } from '../src/engine/base-weights';
import { layerLoraModules, loraLayout, LORA_MODULES, modelLoraModules, modulePath } from '../src/engine/lora';
import type { LoraLayout } from '../src/engine/lora';
import { mergeLora, parseAdapterConfig, readAdapterWeights, slotTensors, writeAdapterWeights } from '../src/engine/peft-adapter';
import { dequantizeNf4 } from '../src/quant/nf4';
import { SafetensorsFile } from '../src/formats/safetensors';
import type { TensorSource } from '../src/formats/tensor-source';
import { adapterFiles, adapterZip } from '../src/export/adapter-bundle';
import { makeZip } from '../src/export/zip';
import { INDEX_FILE, mergedModelFiles, planMergedModel } from '../src/export/merged-model';
import type { MergedDtype, MergedModelInput } from '../src/export/merged-model';
import { pythonTrainingScript } from '../src/export/python-script';
import type { ExportedRunSettings } from '../src/export/python-script';
import { parseModelConfig } from '../src/formats/model-config';
import { ALPACA_PROMPT_INPUT, ALPACA_PROMPT_NO_INPUT } from '../src/data/examples';
import { FIXTURES, readAdapter, readSafetensors } from './helpers/golden';
import type { HostWeight } from '../src/gpu/weight';

const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const STEP3 = (model: string) => `${FIXTURES}golden/${model}/qlora/adapter_step3/`;

interface Loaded {
  files: LoadedModelFiles;
  configJson: Record<string, unknown>;
  host: HostModelWeights;
  layout: LoraLayout;
  params: Float32Array;
  tokenizerFiles: Record<string, string>;
}

async function load(modelDir: string, adapterDir: string): Promise<Loaded> {
  const files = await readModelFiles(dirReader(modelDir));
  const adapter = readAdapter(adapterDir);
  const layout = adapter.layout(files.config);
  return {
    files,
    configJson: JSON.parse(readFileSync(modelDir + 'config.json', 'utf8')),
    host: prepareBaseWeights(files.tensors, files.config, 'nf4'),
    layout,
    params: readAdapterWeights(adapter.file, layout),
    tokenizerFiles: Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].map((n) => [n, readFileSync(modelDir + n, 'utf8')])),
  };
}

function input(l: Loaded, dtype: MergedDtype, maxShardBytes?: number): MergedModelInput {
  return { config: l.files.config, configJson: l.configJson, weights: l.host, layout: l.layout, params: l.params, tokenizerFiles: l.tokenizerFiles, dtype, maxShardBytes };
}

/** Writes the export to a fresh folder and loads it back with the project's own loader. */
async function exportAndLoad(inp: MergedModelInput): Promise<{ dir: string; names: string[]; loaded: LoadedModelFiles }> {
  const dir = mkdtempSync(join(tmpdir(), 'merged-'));
  const names: string[] = [];
  for (const f of mergedModelFiles(inp)) {
    names.push(f.name);
    await writeFiles(dir, { [f.name]: f.bytes });
  }
  return { dir, names, loaded: await readModelFiles(dirReader(dir)) };
}

function f32Of(w: HostWeight): Float32Array {
  if (w.format === 'nf4') return dequantizeNf4(w.data);
  if (w.format === 'f32') return w.data;
  throw new Error('fixture weights are f32 or nf4');
}

/** Every element within 16-bit rounding of `want`: half an ulp relative, plus the subnormal step. */
function expectWithinRounding(name: string, got: Float32Array, want: Float32Array, dtype: MergedDtype, slack = 0): void {
  expect(got.length, name).toBe(want.length);
  const rel = dtype === 'F16' ? 2 ** -11 : 2 ** -8;
  const abs = dtype === 'F16' ? 2 ** -25 : 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (Math.abs(want[i]) * rel + abs + slack);
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  expect(worst, `${name}[${worst}]: got ${got[worst]}, want ${want[worst]}`).toBe(-1);
}

/** The merged weights the export should hold, in f32, by HF name. */
function expectedTensors(l: Loaded): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const { host, layout, params } = l;
  out.set('model.embed_tokens.weight', f32Of(host.embed));
  host.layers.forEach((layer, i) => {
    for (const m of layerLoraModules(l.files.config, i)) {
      const hw = layer.proj[m]!;
      const slot = layout.slot(i, m);
      const W = f32Of(hw);
      out.set(`${modulePath(i, m)}.weight`, slot ? (() => {
        const { A, B } = slotTensors(layout, params, slot);
        return mergeLora(W, A, B, layout.scale, hw.rows, hw.cols, layout.settings.r);
      })() : W);
      const bias = layer.bias[m];
      if (bias) out.set(`${modulePath(i, m)}.bias`, bias);
    }
    for (const [role, name] of Object.entries(l.files.config.architecture.norms)) {
      out.set(`model.layers.${i}.${name}.weight`, layer.norms[role as keyof typeof layer.norms]!);
    }
  });
  out.set('model.norm.weight', host.finalNorm);
  if (host.lmHead) out.set('lm_head.weight', f32Of(host.lmHead));
  return out;
}

function expectAllTensors(tensors: TensorSource, want: Map<string, Float32Array>, dtype: MergedDtype): void {
  for (const [name, values] of want) {
    expect(tensors.info(name).dtype, name).toBe(dtype);
    expectWithinRounding(name, tensors.float32(name), values, dtype);
  }
}

describe('adapter bundle', () => {
  let l: { layout: LoraLayout; params: Float32Array };
  beforeAll(async () => {
    const files = await readModelFiles(dirReader(`${FIXTURES}tiny-llama/`));
    const adapter = readAdapter(STEP3('tiny-llama'));
    const layout = adapter.layout(files.config);
    l = { layout, params: readAdapterWeights(adapter.file, layout) };
  });

  it('the zip holds the adapter PEFT loads, its config and a model card', () => {
    const zip = adapterZip(l.layout, l.params, 'org/tiny-llama', { quant: 'nf4', steps: 3 });
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    expect(files['adapter_model.safetensors']).toEqual(writeAdapterWeights(l.layout, l.params));
    const back = readAdapterWeights(new SafetensorsFile(files['adapter_model.safetensors'], 'adapter_model.safetensors'), l.layout);
    expect(back).toEqual(l.params);
    const config = parseAdapterConfig(JSON.parse(decode(files['adapter_config.json'])));
    expect(config).toEqual({ settings: { ...l.layout.settings, targets: [...l.layout.settings.targets] }, baseModel: 'org/tiny-llama' });
    const card = decode(files['README.md']);
    expect(card).toMatch(/^---\nbase_model: "org\/tiny-llama"\nlibrary_name: peft\n/);
    expect(card).toContain('PeftModel.from_pretrained(base, ');
    expect(card).toContain(`r=${l.layout.settings.r}, alpha=${l.layout.settings.alpha}`);
  });

  it('without a base model the card says what to fill in', () => {
    const card = decode(adapterFiles(l.layout, l.params, null)['README.md']);
    expect(card).toContain('BASE_MODEL_ID');
    expect(card).not.toContain('base_model:');
  });

  it('makeZip deflates text, stores weights, and refuses unsafe names', () => {
    const text = new TextEncoder().encode('abc '.repeat(1000));
    const zip = makeZip([{ name: 'a/notes.md', bytes: text }, { name: 'w.safetensors', bytes: new Uint8Array(4000).fill(7) }], { mtime: new Date(2024, 0, 1) });
    expect(zip.length).toBeLessThan(4000 + 1000); // the text deflated, the weights stored
    const back = unzipSync(zip);
    expect(back['a/notes.md']).toEqual(text);
    expect(back['w.safetensors']).toEqual(new Uint8Array(4000).fill(7));
    expect(() => makeZip([{ name: '../x', bytes: text }])).toThrow(/not a relative file name/);
  });
});

describe('merged model', () => {
  let llama: Loaded;
  let llamaBnb: Loaded;
  let qwen: Loaded;
  beforeAll(async () => {
    llama = await load(`${FIXTURES}tiny-llama/`, STEP3('tiny-llama'));
    llamaBnb = await load(`${FIXTURES}tiny-llama-bnb-nf4/`, STEP3('tiny-llama'));
    qwen = await load(`${FIXTURES}tiny-qwen2/`, STEP3('tiny-qwen2'));
  });

  it('F16, one file: every tensor is W + scale·B·A (NF4 dequantized) within f16 rounding; layer 0 matches PEFT', async () => {
    const { names, loaded } = await exportAndLoad(input(llama, 'F16'));
    expect(names).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']);
    expectAllTensors(loaded.tensors, expectedTensors(llama), 'F16');
    // PEFT's merge_and_unload of the same adapter (float64 reference), within f16 rounding + 1e-5.
    const peft = readSafetensors(`${FIXTURES}golden/tiny-llama/qlora/merged_layer0.safetensors`);
    for (const name of peft.names()) expectWithinRounding(name, loaded.tensors.float32(name), peft.float32(name), 'F16', 1e-5);
    expect(loaded.config).toEqual({ ...llama.files.config });
  });

  it.each(['tiny-qwen3', 'tiny-gemma3'])('%s from its bitsandbytes checkpoint, F16: every tensor merged, every norm kept, the same config', async (model) => {
    const l = await load(`${FIXTURES}${model}-bnb-nf4/`, STEP3(model));
    const { loaded } = await exportAndLoad(input(l, 'F16'));
    const want = expectedTensors(l);
    expect(loaded.tensors.names().sort()).toEqual([...want.keys()].sort()); // q/k norms, Gemma's four norms a layer
    expectAllTensors(loaded.tensors, want, 'F16');
    const peft = readSafetensors(`${FIXTURES}golden/${model}/qlora/merged_layer0.safetensors`);
    for (const name of peft.names()) expectWithinRounding(name, loaded.tensors.float32(name), peft.float32(name), 'F16', 1e-5);
    expect({ ...loaded.config, quantization: null }).toEqual({ ...l.files.config, quantization: null });
  });

  it('BF16 in shards from a bitsandbytes checkpoint: Hub names, index, config without quantization_config', async () => {
    expect(llamaBnb.configJson.quantization_config).toBeDefined();
    const maxShardBytes = 40_000;
    const plan = planMergedModel(input(llamaBnb, 'BF16', maxShardBytes));
    const n = plan.shards.length;
    expect(n).toBeGreaterThan(2);
    for (const s of plan.shards) expect(s.bytes <= maxShardBytes || s.tensors.length === 1).toBe(true);
    const { dir, names, loaded } = await exportAndLoad(input(llamaBnb, 'BF16', maxShardBytes));
    expect(names).toEqual(plan.files);
    expect(names.slice(-n)).toEqual(Array.from({ length: n }, (_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`));
    expect(names).not.toContain('model.safetensors');

    const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8'));
    const want = expectedTensors(llamaBnb);
    expect(Object.keys(index.weight_map).sort()).toEqual([...want.keys()].sort());
    expect(index.metadata.total_size).toBe([...want.values()].reduce((a, v) => a + v.length * 2, 0));
    for (const [tensor, shard] of Object.entries(index.weight_map)) {
      expect(readSafetensors(join(dir, shard as string)).has(tensor), tensor).toBe(true);
    }
    expectAllTensors(loaded.tensors, want, 'BF16');

    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.quantization_config).toBeUndefined();
    expect(config.torch_dtype).toBe('bfloat16');
    expect(config.dtype).toBe('bfloat16'); // the base config has a "dtype" key (transformers 5)
    expect(loaded.config.quantization).toBeNull();
    // The bnb checkpoint and our NF4 quantization of the float one are the same weights.
    const fromFloat = expectedTensors(llama);
    for (const [name, values] of want) expect(values, name).toEqual(fromFloat.get(name));
  });

  it('tied embeddings and q/k/v biases (Qwen2): no lm_head, biases exported', async () => {
    const { loaded } = await exportAndLoad(input(qwen, 'F16'));
    expect(loaded.tensors.has('lm_head.weight')).toBe(false);
    expect(loaded.tensors.has('model.layers.1.self_attn.k_proj.bias')).toBe(true);
    expectAllTensors(loaded.tensors, expectedTensors(qwen), 'F16');
  });

  it('a tensor larger than the shard limit gets a shard of its own', () => {
    const plan = planMergedModel(input(llama, 'F16', 10_000)); // embedding: 512·64·2 = 65536 bytes
    const embed = plan.shards.find((s) => s.tensors.includes('model.embed_tokens.weight'))!;
    expect(embed.tensors).toEqual(['model.embed_tokens.weight']);
    expect(plan.totalSize).toBe(plan.shards.reduce((a, s) => a + s.bytes, 0));
  });
});

const RUN: ExportedRunSettings = {
  modelId: 'HuggingFaceTB/SmolLM2-135M-Instruct',
  revision: 'main',
  dataFileName: 'my data.jsonl',
  format: 'alpaca',
  maxLength: 512,
  batchSize: 4,
  gradAccum: 2,
  steps: 120,
  lr: 2e-4,
  scheduler: 'cosine',
  warmupSteps: 10,
  weightDecay: 0,
  maxGradNorm: 0.3,
  lora: { r: 16, alpha: 32, dropout: 0.05, targets: ['q_proj', 'v_proj'], rslora: true },
  quant: 'nf4',
  seed: 42,
  gradientCheckpointing: true,
  valSplit: 0.1,
};

function hasPython(): boolean {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Parses the script with Python's ast and returns its top-level literal assignments. */
function pythonConstants(script: string): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'script-'));
  const file = join(dir, 'train.py');
  writeFileSync(file, script);
  const code = [
    'import ast, json, sys',
    'tree = ast.parse(open(sys.argv[1]).read())',
    'out = {}',
    'for n in tree.body:',
    '    if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name):',
    '        try: out[n.targets[0].id] = ast.literal_eval(n.value)',
    '        except ValueError: pass',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', code, file], { encoding: 'utf8' }));
}

describe('python training script', () => {
  it('carries every setting (checked as Python sees them)', () => {
    const script = pythonTrainingScript(RUN);
    expect(script).toContain('BitsAndBytesConfig(');
    expect(script).toContain('bnb_4bit_quant_type="nf4"');
    expect(script).toContain('bnb_4bit_use_double_quant=True');
    expect(script).toContain('bnb_4bit_compute_dtype=COMPUTE_DTYPE');
    // dtype and device from what the machine has: no bf16 demanded of a CPU, no deprecated torch_dtype.
    expect(script).toContain('COMPUTE_DTYPE = torch.bfloat16 if USE_BF16 else torch.float16 if USE_CUDA else torch.float32');
    expect(script).toContain('bf16=USE_BF16,');
    expect(script).not.toContain('torch_dtype');
    expect(script).toMatch(/needs bitsandbytes on a CUDA GPU/);
    expect(script).toContain('SFTTrainer(');
    expect(script).toContain('accelerate launch');
    expect(script).toContain('DeepSpeed');
    if (!hasPython()) return;
    const c = pythonConstants(script);
    expect(c).toMatchObject({
      MODEL_ID: RUN.modelId, REVISION: 'main', DATA_FILE: 'my data.jsonl', DATA_FORMAT: 'alpaca', QUANT: 'nf4', MAX_LENGTH: 512,
      BATCH_SIZE: 4, GRAD_ACCUM: 2, MAX_STEPS: 120, LEARNING_RATE: 2e-4, LR_SCHEDULER: 'cosine', WARMUP_STEPS: 10, WEIGHT_DECAY: 0,
      MAX_GRAD_NORM: 0.3, SEED: 42, GRADIENT_CHECKPOINTING: true, VAL_SPLIT: 0.1, VAL_MAX: 200, LORA_R: 16, LORA_ALPHA: 32, LORA_DROPOUT: 0.05,
      LORA_TARGETS: ['q_proj', 'v_proj'], USE_RSLORA: true, ADAM_BETA1: 0.9, ADAM_BETA2: 0.999, ADAM_EPSILON: 1e-8,
      // The template reaches Python verbatim.
      PROMPT_INPUT: ALPACA_PROMPT_INPUT,
      PROMPT_NO_INPUT: ALPACA_PROMPT_NO_INPUT,
    });
  });

  it('every format, epochs instead of steps, constant schedule with warmup, f32 base: still valid Python', () => {
    for (const format of ['alpaca', 'chat', 'completion', 'text'] as const) {
      const script = pythonTrainingScript({ ...RUN, format, steps: null, epochs: 3, scheduler: 'constant', quant: 'f32', modelId: 'a\nb "quoted"' });
      expect(script).toContain('lr_scheduler_type=LR_SCHEDULER');
      if (!hasPython()) continue;
      const c = pythonConstants(script);
      expect(c).toMatchObject({ DATA_FORMAT: format, MAX_STEPS: -1, NUM_EPOCHS: 3, LR_SCHEDULER: 'constant_with_warmup', QUANT: 'f32', MODEL_ID: 'a\nb "quoted"' });
    }
  });

  it("carries the browser's records: column mapping, limit and skipped rows, for every kind of file (valid Python)", () => {
    const skipped = Array.from({ length: 12 }, (_, i) => ({ line: i + 2, reason: i === 0 ? 'not valid JSON:\nUnexpected "x"' : 'missing field "answer" (the output column)' }));
    for (const dataFileName of ['qa.jsonl', 'qa.json', 'qa.csv', 'qa.tsv', 'qa.txt', 'qa.parquet']) {
      const script = pythonTrainingScript({ ...RUN, dataFileName, columns: { instruction: 'question', output: 'a "quoted" column' }, limit: 50, onInvalid: 'skip', skipped });
      expect(script).toMatch(/# The browser skipped 12 row\(s\)[\s\S]*#   line 2: not valid JSON: Unexpected "x"\n[\s\S]*#   … and 2 more/);
      if (!hasPython()) continue;
      expect(pythonConstants(script), dataFileName).toMatchObject({ COLUMNS: { instruction: 'question', output: 'a "quoted" column' }, LIMIT: 50, SKIP_INVALID: true });
    }
    if (hasPython()) expect(pythonConstants(pythonTrainingScript(RUN))).toMatchObject({ COLUMNS: {}, LIMIT: null, SKIP_INVALID: false });
  });

  it("LORA_TARGETS names the model's own projections: Qwen3.5's linear-attention modules, none of them for Llama", () => {
    const qwen35 = parseModelConfig(JSON.parse(readFileSync(new URL('./fixtures/tiny-qwen3_5/config.json', import.meta.url), 'utf8')));
    const llama = parseModelConfig(JSON.parse(readFileSync(new URL('./fixtures/tiny-llama/config.json', import.meta.url), 'utf8')));
    const all = { ...RUN.lora, targets: [...LORA_MODULES] };
    const q = pythonTrainingScript({ ...RUN, modelId: 'Qwen/Qwen3.5-0.8B', lora: all, modelModules: modelLoraModules(qwen35), modelType: qwen35.modelType });
    expect(q).toContain('"transformers>=5.2"');
    expect(q).toContain('pip install flash-linear-attention causal-conv1d');
    const l = pythonTrainingScript({ ...RUN, lora: all, modelModules: modelLoraModules(llama), modelType: llama.modelType });
    expect(l).toContain('"transformers>=4.46"');
    expect(l).not.toContain('flash-linear-attention');
    expect(() => pythonTrainingScript({ ...RUN, lora: { ...RUN.lora, targets: ['in_proj_qkv'] }, modelModules: modelLoraModules(llama) })).toThrow(/none of the LoRA targets/);
    if (!hasPython()) return;
    expect(pythonConstants(q).LORA_TARGETS).toEqual([
      'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'in_proj_qkv', 'in_proj_z', 'in_proj_b', 'in_proj_a', 'out_proj',
    ]);
    expect(pythonConstants(l).LORA_TARGETS).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  });

  it('refuses settings that would make a wrong script', () => {
    expect(() => pythonTrainingScript({ ...RUN, steps: null, epochs: null })).toThrow(/steps or epochs/);
    expect(() => pythonTrainingScript({ ...RUN, lr: Number.NaN })).toThrow(/finite/);
  });
});
