// The app end to end in headless Chromium (WebGPU on SwiftShader), on the fixture model served in the
// Hub layout from another origin (CORS): load, quantize, train 3 steps with the golden settings and
// download an adapter matching adapter_step3 (and its GGUF); reload mid-run and resume; a malformed
// dataset row; a Parquet dataset URL; a corrupt safetensors file; deleting cached data. Each test saves a screenshot in test-output/screenshots.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { gguf } from '@huggingface/gguf';
import { hasChromium, useBrowserApp, openPage, waitForRunState, waitForDownload, screenshot } from '../helpers/browser';
import { FIXTURES } from '../helpers/golden';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { parseModelConfig } from '../../src/formats/model-config';
import { parseAdapterConfig, readAdapterWeights, slotTensors, peftKey } from '../../src/engine/peft-adapter';
import { ggufTensorName } from '../../src/export/gguf-adapter';
import { loraLayout } from '../../src/engine/lora';
import { l2 } from '../helpers/compare';

let badDir: string;
const env = useBrowserApp(() => {
  badDir = mkdtempSync(join(tmpdir(), 'qlora-bad-model-'));
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(`${FIXTURES}tiny-llama/${f}`, join(badDir, f));
  const weights = readFileSync(`${FIXTURES}tiny-llama/model.safetensors`);
  writeFileSync(join(badDir, 'model.safetensors'), weights.subarray(0, weights.length - 4096)); // truncated
  const dataDir = mkdtempSync(join(tmpdir(), 'qlora-data-'));
  mkdirSync(join(dataDir, 'sets'));
  const good = JSON.parse(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8')).slice(0, 4);
  writeFileSync(join(dataDir, 'sets', 'bad-row.jsonl'), [JSON.stringify(good[0]), '{"instruction": "no closing brace"', JSON.stringify(good[1]), JSON.stringify({ instruction: 'no output' }), JSON.stringify(good[2])].join('\n') + '\n');
  return { fixtures: FIXTURES, bad: badDir, data: join(dataDir, 'sets') };
});

const GOLDEN = `${FIXTURES}golden/tiny-llama/qlora/`;

function goldenQuery(extra: Record<string, string> = {}): string {
  const fx = env.files.base + 'fixtures/';
  return new URLSearchParams({
    model: fx + 'tiny-llama/', data: fx + 'alpaca-tiny.json', limit: '3', shuffle: '0', batchSize: '3', steps: '3', lr: '0.001',
    weightDecay: '0.01', maxGradNorm: '1', initAdapter: `${fx}golden/tiny-llama/qlora/adapter_init/`, quant: 'nf4', ...extra,
  }).toString();
}

/** The downloaded adapter.zip against adapter_step3: every tensor within 1e-3 of its update. */
function expectGoldenAdapter(zipPath: string): void {
  const entries = unzipSync(new Uint8Array(readFileSync(zipPath)));
  expect(Object.keys(entries)).toEqual(expect.arrayContaining(['adapter_model.safetensors', 'adapter_config.json']));
  const cfg = parseModelConfig(JSON.parse(readFileSync(`${FIXTURES}tiny-llama/config.json`, 'utf8')));
  const { settings } = parseAdapterConfig(JSON.parse(new TextDecoder().decode(entries['adapter_config.json'])));
  const layout = loraLayout(cfg, settings);
  const read = (bytes: Uint8Array, name: string) => readAdapterWeights(new SafetensorsFile(bytes, name), layout);
  const ours = read(entries['adapter_model.safetensors'], 'downloaded');
  const want = read(new Uint8Array(readFileSync(`${GOLDEN}adapter_step3/adapter_model.safetensors`)), 'step3');
  const init = read(new Uint8Array(readFileSync(`${GOLDEN}adapter_init/adapter_model.safetensors`)), 'init');
  for (const slot of layout.slots) {
    for (const which of ['A', 'B'] as const) {
      const [o, w, i0] = [ours, want, init].map((p) => slotTensors(layout, p, slot)[which]);
      expect(l2(o.map((v, i) => v - w[i])) / l2(w.map((v, i) => v - i0[i])), peftKey(slot, which)).toBeLessThanOrEqual(1e-3);
    }
  }
}

describe.skipIf(!hasChromium())('the app in headless Chromium', () => {
  it('trains the golden run from URL settings and downloads an adapter matching adapter_step3', async () => {
    const { page, downloads, errors } = await openPage(env.browser);
    await page.goto(`${env.url}?${goldenQuery({ autostart: '1' })}`);
    expect(await waitForRunState(page, ['done', 'error'])).toBe('done');
    expect(await page.evaluate(() => document.body.dataset.step)).toBe('3');
    await screenshot(page, 'golden-run');
    await page.click('[data-action="export-adapter"]');
    const zipPath = await waitForDownload(downloads, /-adapter\.zip$/);
    expectGoldenAdapter(zipPath);
    // The GGUF download carries the same lora_A bytes (test/export-gguf.test.ts checks the format itself).
    await page.click('[data-action="export-gguf"]');
    const ggufPath = await waitForDownload(downloads, /^tiny-llama-alpaca-tiny-[a-z0-9]+-lora-f32\.gguf$/);
    const parsed = await gguf(ggufPath, { allowLocalFile: true });
    const q0 = parsed.tensorInfos.find((t) => t.name === ggufTensorName({ layer: 0, module: 'q_proj' }, 'a'))!;
    const start = Number(parsed.tensorDataOffset + q0.offset);
    const ggufA = new Uint8Array(readFileSync(ggufPath)).slice(start, start + 4 * Number(q0.shape[0] * q0.shape[1]));
    const peftA = new SafetensorsFile(unzipSync(new Uint8Array(readFileSync(zipPath)))['adapter_model.safetensors'], 'zip').float32(peftKey({ layer: 0, module: 'q_proj' }, 'A'));
    expect(new Float32Array(ggufA.buffer)).toEqual(peftA);
    // The storage panel lists the run with its final state.
    await page.waitForFunction(() => [...document.querySelectorAll('table.stored td')].some((td) => td.textContent?.includes('done, step 3/3')), { polling: 250, timeout: 30_000 });
    // The Learn view draws one NF4 block of the trained model (one layer read from the cache).
    await page.$eval('#learn', (el) => el.scrollIntoView());
    await page.waitForFunction(() => document.querySelector('#learn')?.textContent?.includes('model.layers.0.q_proj.weight, block 0'), { polling: 250 });
    expect(await page.$eval('#learn', (el) => el.textContent)).toMatch(/quantization error \(RMS\) [0-9.e-]+/);
    expect(errors.filter((e) => !/404/.test(e))).toEqual([]);
    await page.close();
  });

  it('resumes after a reload mid-run and ends where an uninterrupted run ends', async () => {
    const { page, downloads } = await openPage(env.browser);
    await page.goto(`${env.url}?${goldenQuery({ autostart: '1', checkpointEvery: '1' })}`);
    await page.waitForFunction(() => Number(document.body.dataset.checkpointStep ?? 0) >= 1, { polling: 100 });
    await page.goto(env.url); // a reload, without autostart
    const resume = await page.waitForSelector('[data-action="resume-run"]', { timeout: 120_000 });
    await screenshot(page, 'resume-offer');
    await resume!.click();
    expect(await waitForRunState(page, ['done', 'error'])).toBe('done');
    expect(await page.evaluate(() => document.body.dataset.step)).toBe('3');
    await screenshot(page, 'resumed-run');
    await page.click('[data-action="export-adapter"]');
    expectGoldenAdapter(await waitForDownload(downloads, /-adapter\.zip$/));
    await page.close();
  });

  it('lists malformed dataset rows by line and record, and trains on the good ones when told to skip', async () => {
    const { page } = await openPage(env.browser);
    const fx = env.files.base + 'fixtures/';
    const q = new URLSearchParams({ model: fx + 'tiny-llama/', data: env.files.base + 'data/bad-row.jsonl', steps: '1', batchSize: '2', format: 'alpaca', autostart: '1' });
    await page.goto(`${env.url}?${q}`);
    expect(await waitForRunState(page, ['error', 'done'])).toBe('error');
    expect(await page.evaluate(() => document.body.dataset.errorCode)).toBe('DATASET_INVALID');
    await page.waitForSelector('[data-error-action="skip-bad-rows"]');
    const text = await page.evaluate(() => document.body.innerText);
    expect(text).toMatch(/line 2/i);
    expect(text).toMatch(/output/);
    await screenshot(page, 'bad-rows');
    await page.click('[data-error-action="skip-bad-rows"]');
    await page.waitForFunction(() => document.body.dataset.runState !== 'error', { polling: 100 });
    if ((await page.evaluate(() => document.body.dataset.runState)) === 'idle') await page.click('[data-action="start"]');
    expect(await waitForRunState(page, ['done', 'error'])).toBe('done');
    await screenshot(page, 'bad-rows-skipped');
    await page.close();
  });

  it('trains from a Parquet URL, read by Range requests in the page', async () => {
    const { page, errors } = await openPage(env.browser);
    const fx = env.files.base + 'fixtures/';
    env.files.requests.length = 0;
    const q = new URLSearchParams({ model: fx + 'tiny-llama/', data: fx + 'parquet/alpaca-tiny.parquet', limit: '3', steps: '1', batchSize: '3', autostart: '1' });
    await page.goto(`${env.url}?${q}`);
    expect(await waitForRunState(page, ['done', 'error'])).toBe('done');
    expect(await page.evaluate(() => document.body.innerText)).toMatch(/alpaca-tiny\.parquet/);
    expect(env.files.requests.some((r) => r.path.endsWith('.parquet') && r.status === 206)).toBe(true);
    expect(errors.filter((e) => !/404/.test(e))).toEqual([]);
    await page.close();
  });

  it('reports a corrupt safetensors file with the file named, and the page keeps working', async () => {
    const { page } = await openPage(env.browser);
    await page.goto(`${env.url}?${new URLSearchParams({ model: env.files.base + 'bad/', autostart: '1' })}`);
    expect(await waitForRunState(page, ['error', 'done'])).toBe('error');
    expect(await page.evaluate(() => document.body.dataset.errorCode)).toBe('WEIGHTS_CORRUPT');
    expect(await page.evaluate(() => document.body.innerText)).toContain('model.safetensors');
    await screenshot(page, 'corrupt-weights');
    await page.close();
  });

  it('deletes cached data from the storage panel', async () => {
    const { page } = await openPage(env.browser);
    await page.goto(env.url);
    await page.waitForSelector('[data-action="delete-stored"]', { timeout: 120_000 });
    const before = await page.$$eval('[data-action="delete-stored"]', (els) => els.map((e) => (e as HTMLElement).dataset.key));
    expect(before.length).toBeGreaterThan(0);
    page.on('dialog', (d) => void d.accept());
    const key = before[0]!;
    const [button] = await page.$$('[data-action="delete-stored"]');
    await button.click();
    await page.waitForFunction((k: string) => ![...document.querySelectorAll('[data-action="delete-stored"]')].some((e) => (e as HTMLElement).dataset.key === k), { polling: 250 }, key);
    await screenshot(page, 'storage-after-delete');
    await page.close();
  });
});
