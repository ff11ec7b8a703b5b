// The bench page in headless Chromium (WebGPU on SwiftShader, where timings mean nothing): a tiny shape
// from the URL with autostart runs to the end and reports a training line with the harness's fields.
import { describe, it, expect } from 'vitest';
import { hasChromium, useBrowserApp, openPage, screenshot } from '../helpers/browser';

const env = useBrowserApp();

describe.skipIf(!hasChromium())('the bench page in headless Chromium', () => {
  it('runs a tiny shape from the URL and prints JSON lines with the harness fields', async () => {
    const { page, errors } = await openPage(env.browser);
    await page.goto(`${env.url}src/bench/bench.html?model=tiny&batch=1,2&seq=16&steps=1&quant=nf4&autostart=1`);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.benchState ?? ''), { polling: 250 });
    await screenshot(page, 'bench-page');
    const state = await page.evaluate(() => document.body.dataset.benchState);
    const text = await page.$eval('[data-role="results"]', (el) => el.textContent ?? '');
    expect(state, await page.$eval('[role="status"]', (el) => el.textContent)).toBe('done');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.kind, l.batch])).toEqual([['train', 1], ['train', 2]]);
    for (const l of lines) {
      for (const k of ['model', 'batch', 'seq', 'r', 'targets', 'quant', 'tokens_per_s', 'step_ms', 'tflops', 'peak_gpu_bytes', 'device']) expect(l).toHaveProperty(k);
      expect(l.tokens_per_s).toBeGreaterThan(0);
      expect(l.peak_gpu_bytes).toBeGreaterThan(0);
      expect(l.max_submit_ms).toBeGreaterThan(0);
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
