// The bench page (src/bench/bench.html): the same grid as `npm run bench`, on this browser's WebGPU adapter, with
// random-weight model shapes. Settings come from the form or the URL (?model=tiny&batch=1,2&seq=64&
// steps=2&quant=nf4&r=16&target=q_proj,v_proj&checkpointing=1&kernels=1&quantize=1&autostart=1); the
// results show as a table and as JSON lines to copy into src/bench/results.jsonl. The run's state is on
// document.body.dataset.benchState (idle, running, done, error) for headless runs.
import { createGpuContext } from '../gpu/context';
import type { GpuContext } from '../gpu/context';
import { LORA_MODULES, parseTargets } from '../engine/lora';
import { BASE_QUANTS } from '../engine/base-weights';
import { QloraError, isQloraError } from '../errors';
import { h, fill } from '../ui/dom';
import { SHAPE_NAMES } from './shapes';
import { runBench, positiveInts, baseQuants, commaList } from './suite';
import type { BenchGrid } from './suite';

const params = new URLSearchParams(location.search);
const field = (name: string, label: string, value: string, help: string) =>
  h('label', { class: 'field' }, h('span', null, label), h('input', { name, value, 'aria-describedby': `${name}-help` }), h('small', { id: `${name}-help` }, help));
const check = (name: string, label: string) =>
  h('label', { class: 'field check' }, h('input', { type: 'checkbox', name, checked: params.get(name) === '1' }), h('span', null, label));

const form = h('form', { class: 'panel' },
  field('model', 'Model shapes', params.get('model') ?? 'tiny', `comma list of ${SHAPE_NAMES.join(', ')}`),
  field('batch', 'Batch sizes', params.get('batch') ?? '1', 'comma list'),
  field('seq', 'Sequence lengths', params.get('seq') ?? '64', 'comma list'),
  field('steps', 'Timed steps', params.get('steps') ?? '3', 'after one warm-up step'),
  field('quant', 'Base precision', params.get('quant') ?? 'nf4', BASE_QUANTS.join(', ')),
  field('r', 'LoRA r', params.get('r') ?? '16', 'rank of every adapter'),
  field('target', 'Targets', params.get('target') ?? 'all-linear', 'q_proj,v_proj,… or all-linear'),
  check('checkpointing', 'Gradient checkpointing'),
  check('kernels', 'Per-kernel table against measured ceilings'),
  check('quantize', 'Time NF4 quantization on the CPU'),
  h('button', { type: 'submit', 'data-action': 'run-bench' }, 'Run benchmark'),
);
const status = h('p', { role: 'status' }, 'Random weights of each shape, timed on this GPU. Big shapes need gigabytes of GPU memory.');
const table = h('table', { class: 'bench-table' });
const jsonl = h('pre', { class: 'bench-json', 'data-role': 'results' });
fill(document.getElementById('bench')!, h('main', { class: 'bench' }, h('h1', null, 'Benchmark'), form, status, table, h('h2', null, 'JSON lines'), jsonl));

function gridFromForm(): BenchGrid {
  const v = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
  const on = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).checked;
  const steps = positiveInts('steps', v('steps'));
  const r = positiveInts('r', v('r'));
  return {
    models: commaList(v('model')),
    quants: baseQuants(v('quant')),
    batches: positiveInts('batch', v('batch')),
    seqs: positiveInts('seq', v('seq')),
    steps: steps[0],
    lora: { r: r[0], alpha: 32, dropout: 0, targets: v('target') ? parseTargets(v('target')) : [...LORA_MODULES], rslora: false },
    checkpointing: on('checkpointing'),
    kernels: on('kernels'),
    quantize: on('quantize'),
    allocOnly: false,
  };
}

const COLUMNS: Record<string, string[]> = {
  train: ['model', 'batch', 'seq', 'quant', 'tokens_per_s', 'step_ms', 'tflops', 'peak_gpu_bytes', 'max_submit_ms', 'dispatches_per_step', 'readbacks_per_step'],
  kernel: ['kernel', 'shape', 'backend', 'ms', 'tflops', 'gbps', 'floor_ms', 'efficiency', 'floor_ms_datasheet_fp32', 'floor_ms_datasheet_tensor'],
  quantize: ['model', 'params', 'seconds', 'mparams_per_s'],
  ceilings: ['device', 'matmul_tflops', 'matmul_source', 'own_product_tflops', 'copy_gbps', 'copy_buffer_gbps', 'datasheet'],
};
const cell = (x: unknown) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toPrecision(4)) : String(x ?? ''));

function show(line: Record<string, unknown>): void {
  jsonl.textContent += JSON.stringify({ ...line, date: new Date().toISOString() }) + '\n';
  const cols = COLUMNS[String(line.kind)] ?? Object.keys(line);
  table.append(h('tr', null, h('th', null, String(line.kind)), ...cols.map((c) => h('td', { title: c }, `${c}: ${cell(line[c])}`))));
}

async function run(): Promise<void> {
  document.body.dataset.benchState = 'running';
  table.replaceChildren();
  jsonl.textContent = '';
  let ctx: GpuContext | null = null;
  try {
    const grid = gridFromForm();
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) throw new QloraError('WEBGPU_UNAVAILABLE', 'This browser does not offer WebGPU.');
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new QloraError('WEBGPU_UNAVAILABLE', 'WebGPU found no GPU adapter.');
    ctx = await createGpuContext(adapter);
    status.textContent = `Running on ${ctx.adapterDescription}${ctx.features.f16 ? ' (shader-f16)' : ''}…`;
    await runBench(ctx, grid, (line) => show(line as Record<string, unknown>));
    status.textContent = `Done on ${ctx.adapterDescription}.`;
    document.body.dataset.benchState = 'done';
  } catch (e) {
    status.textContent = isQloraError(e) ? e.message : `Benchmark failed: ${(e as Error).message ?? e}`;
    document.body.dataset.benchState = 'error';
  } finally {
    ctx?.device.destroy(); // a rerun starts from a clean device
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (document.body.dataset.benchState !== 'running') void run();
});
if (params.get('autostart') === '1') void run();
