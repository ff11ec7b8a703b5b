// Runs that must not be lost or reported wrongly (issue #10): the output folder checked and locked
// before step 1 and written as one unit, a diverged run stopped with an error naming the step, and
// example lengths that follow the model's context instead of crashing past the RoPE table.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, jsonLines } from './helpers/cli';
import { SWIFTSHADER_ICD } from '../src/io/node-gpu';
import { FIXTURES } from './helpers/golden';
import { claimOutputDir } from '../src/cli/output-dir';
import { checkAdapterParams, checkGradNorm } from '../src/engine/divergence';
import { QloraError } from '../src/errors';
import { parseModelConfig } from '../src/formats/model-config';
import { loraLayout } from '../src/engine/lora';
import { adapterFiles } from '../src/export/adapter-bundle';

const tmp = () => mkdtempSync(join(tmpdir(), 'qlora-trust-cli-'));
const MODEL = `${FIXTURES}tiny-llama`;
const DATA = `${FIXTURES}alpaca-tiny.json`;

async function rejection(p: Promise<unknown>): Promise<QloraError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(QloraError);
    return e as QloraError;
  }
  throw new Error('expected a QloraError');
}

describe('the output folder', () => {
  it('an existing file, or a folder of other things, is refused before anything runs', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'x');
    expect((await rejection(claimOutputDir(join(dir, 'file')))).message).toContain('existing file');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect((await rejection(claimOutputDir(dir))).message).toContain('notes.txt');
  });

  it('a second writer is refused while the first holds the lock; a dead one’s lock is taken over', async () => {
    const out = join(tmp(), 'adapter');
    const first = await claimOutputDir(out);
    expect((await rejection(claimOutputDir(out))).message).toContain(`pid ${process.pid}`);
    await first.release();
    // A lock left by a process that no longer exists.
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid as number;
    await new Promise((r) => child.on('close', r));
    writeFileSync(`${out}.lock`, `${pid}\n`);
    const second = await claimOutputDir(out);
    await second.release();
  });

  it('a save replaces config and weights together; a failed save leaves the old adapter whole', async () => {
    const out = join(tmp(), 'adapter');
    const o = await claimOutputDir(out);
    await o.write({ 'adapter_config.json': '{"r":16}', 'adapter_model.safetensors': new Uint8Array([16]) });
    writeFileSync(join(out, 'README.md'), 'card');
    await o.write({ 'adapter_config.json': '{"r":4}', 'adapter_model.safetensors': new Uint8Array([4]) });
    expect(readFileSync(join(out, 'adapter_config.json'), 'utf8')).toBe('{"r":4}');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('card');
    // The weights fail to write (a kill mid-save looks the same from the folder's side).
    const broken = { 'adapter_config.json': '{"r":8}', 'adapter_model.safetensors': 42 as unknown as Uint8Array };
    expect((await rejection(o.write(broken))).code).toBe('STORAGE');
    expect(readFileSync(join(out, 'adapter_config.json'), 'utf8')).toBe('{"r":4}');
    expect([...readFileSync(join(out, 'adapter_model.safetensors'))]).toEqual([4]);
    await o.release();
    expect(readdirSync(join(out, '..'))).toEqual(['adapter']); // no lock, no partial folder left
  });

  it('qlora train with --out on an existing file fails at once, before step 1', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'adapter'), 'x');
    const r = await runCli(['train', '--model', MODEL, '--data', DATA, '--batch-size', '2', '--steps', '1', '--lr', '1e-3', '--out', join(dir, 'adapter')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('existing file');
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('GPU:'); // refused before the GPU and the model were even opened
  });
});

describe('divergence', () => {
  it('non-finite gradient norms and runaway weights are NUMERIC errors naming the step', () => {
    expect(() => checkGradNorm(7, NaN)).toThrow(/step 7/);
    expect(() => checkAdapterParams(3, new Float32Array([0.1, -2.6e6, 0]))).toThrow(/step 3.*-2600000/);
    expect(() => checkAdapterParams(3, new Float32Array([0.1, NaN]))).toThrow(/NaN/);
    expect(() => checkAdapterParams(3, new Float32Array([0.5, -0.3]))).not.toThrow();
  });

  it('qlora train refuses --lr 1e6 up front, as the page does (learning rates above 1 are refused)', async () => {
    const r = await runCli(['train', '--model', MODEL, '--data', DATA, '--lr', '1e6', '--out', join(tmp(), 'adapter')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--lr must be > 0 and ≤ 1, got 1000000/);
    expect(r.stderr).not.toContain('GPU:');
  });

  // An adapter that would overflow the loss (1e30) no longer reaches step 1: the import check refuses
  // weights beyond training's own divergence bound (±1e4) before any training time is spent.
  it('an initial adapter of 1e30 is refused before step 1 (ADAPTER_INVALID) and nothing is saved', async () => {
    const dir = tmp();
    const config = parseModelConfig(JSON.parse(readFileSync(`${MODEL}/config.json`, 'utf8')));
    const layout = loraLayout(config, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'], rslora: false });
    mkdirSync(join(dir, 'init'));
    for (const [name, bytes] of Object.entries(adapterFiles(layout, new Float32Array(layout.totalFloats).fill(1e30), null))) writeFileSync(join(dir, 'init', name), bytes);
    const out = join(dir, 'adapter');
    const r = await runCli(['train', '--model', MODEL, '--data', DATA, '--limit', '4', '--batch-size', '2', '--steps', '3', '--init-adapter', join(dir, 'init'), '--quant', 'f32', '--out', out]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('ADAPTER_INVALID');
    expect(r.stderr).toContain('within ±10000');
    expect(r.stdout).not.toContain('"step"');
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(false);
    expect(existsSync(`${out}.lock`)).toBe(false);
  });
});

describe('Ctrl-C', () => {
  it('stops after the current step, saves the adapter and exits 130 (not 0: the run did not finish)', async () => {
    const out = join(tmp(), 'adapter');
    const child = spawn(process.execPath, [new URL('../bin/qlora.mjs', import.meta.url).pathname, 'train', '--model', MODEL, '--data', DATA, '--limit', '4',
      '--batch-size', '2', '--steps', '50', '--lora-r', '2', '--target', 'q_proj', '--quant', 'f32', '--out', out], {
      env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      if (!stdout) child.kill('SIGINT'); // the first step's line is out
      stdout += d;
    });
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('stopping after this step');
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
    expect(jsonLines(stdout).length).toBeLessThan(50);
  });
});

describe('lengths follow the model', () => {
  it('without --max-length a long record on a 512-position model is truncated, not a crash', async () => {
    const dir = tmp();
    const data = join(dir, 'long.jsonl');
    writeFileSync(data, JSON.stringify({ text: 'red green blue '.repeat(600) }) + '\n');
    const r = await runCli(['eval', '--model', MODEL, '--quant', 'f32', '--data', data, '--batch-size', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLines(r.stdout)[0].tokens).toBe(511);
  });

  it('--max-length past the context is refused up front', async () => {
    const r = await runCli(['eval', '--model', MODEL, '--data', DATA, '--max-length', '1024']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('context of 512 positions');
  });
});
