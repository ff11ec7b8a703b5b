// The memory estimate tells the truth before anything big happens (issue 12, point 1), in headless
// Chromium on SwiftShader: for a URL model the estimate comes from config.json alone, before any
// weight is fetched; a run over the GPU's memory (the `gpu-memory` setting stands in for a small GPU,
// since SwiftShader cannot be made to run out at a chosen size) says "does not fit" and keeps Start
// disabled; each suggested fix is one click and the new estimate shows at once; an invalid field
// clears the verdict; and with no setting the answer is measured by a probe, and says so.
// Screenshots go to test-output/screenshots.
import { describe, it, expect } from 'vitest';
import type { Page } from 'puppeteer-core';
import { hasChromium, useBrowserApp, openPage, screenshot } from '../helpers/browser';
import { FIXTURES } from '../helpers/golden';

const env = useBrowserApp(() => ({ fixtures: FIXTURES }));

const memoryState = (page: Page, state: string) =>
  page.waitForFunction((s: string) => (document.querySelector('#settings .memory') as HTMLElement | null)?.dataset.memory === s, { polling: 50, timeout: 60_000 }, state);
const memoryText = (page: Page) => page.$eval('#settings .memory', (el) => (el as HTMLElement).innerText);
const startDisabled = (page: Page) => page.$eval('[data-action="start"]', (el) => (el as HTMLButtonElement).disabled);

/** Clicks a fix and waits for the estimate to change from what it said before. */
async function applyFix(page: Page, kind: string): Promise<string> {
  const before = await memoryText(page);
  await page.click(`[data-memory-fix="${kind}"]`);
  await page.waitForFunction((b: string) => (document.querySelector('#settings .memory') as HTMLElement).innerText !== b, { polling: 50, timeout: 10_000 }, before);
  return memoryText(page);
}

describe.skipIf(!hasChromium())('the memory estimate', () => {
  it('from config.json alone says a run too big does not fit, offers one-click fixes, and drops its verdict on an invalid field', async () => {
    const { page, errors } = await openPage(env.browser);
    const model = `${env.files.base}fixtures/tiny-llama/`;
    // ≈249 MiB for batch 32 × 512 tokens on the fixture model, on a "GPU" of 100 MiB.
    env.files.requests.length = 0;
    await page.goto(`${env.url}?${new URLSearchParams({ model, batchSize: '32', 'gpu-memory': '100MiB' })}`);
    await memoryState(page, 'does-not-fit');
    expect(env.files.requests.map((r) => r.path)).toEqual(['/fixtures/tiny-llama/config.json']);
    let text = await memoryText(page);
    expect(text).toMatch(/From config\.json alone, before downloading the weights/);
    expect(text).toMatch(/Does not fit: .*more than the 100\.0 MiB of the gpu-memory setting/);
    expect(text).toMatch(/Compared with the gpu-memory setting \(100\.0 MiB\), not measured/);
    expect(text).not.toMatch(/Fits this GPU/);
    expect(await startDisabled(page)).toBe(true);
    const fixes = await page.$$eval('[data-memory-fix]', (bs) => bs.map((b) => (b as HTMLElement).dataset.memoryFix));
    expect(fixes).toEqual(['checkpointing', 'batch', 'length', 'targets', 'rank']); // the base is NF4 already
    await page.$eval('#settings .memory', (el) => el.scrollIntoView());
    await screenshot(page, 'memory-does-not-fit');

    // One click each, and the new estimate shows at once.
    text = await applyFix(page, 'checkpointing');
    expect(await page.$eval('input[name="gradientCheckpointing"]', (el) => (el as HTMLInputElement).checked)).toBe(true);
    expect(text).toMatch(/Does not fit/); // ≈189 MiB: still too much
    text = await applyFix(page, 'batch');
    expect(await page.$eval('input[name="batchSize"]', (el) => (el as HTMLInputElement).value)).toBe('16');
    expect(await page.$eval('input[name="gradAccum"]', (el) => (el as HTMLInputElement).value)).toBe('2');
    expect(text).toMatch(/✓ Fits this GPU/);
    expect(text).toMatch(/\(94\.\d MiB\)/);
    expect(await startDisabled(page)).toBe(false);
    await screenshot(page, 'memory-fits-after-fixes');

    // An invalid field: the old "✓ Fits" goes, and the estimate says to fix the field first.
    const batch = (await page.$('input[name="batchSize"]'))!;
    await batch.click({ count: 3 });
    await batch.type('0');
    await memoryState(page, 'invalid');
    text = await memoryText(page);
    expect(text).toMatch(/Fix the field first/);
    expect(text).not.toMatch(/Fits/);
    expect(await startDisabled(page)).toBe(true);
    await screenshot(page, 'memory-invalid-field');
    await batch.click({ count: 3 });
    await batch.type('8');
    await memoryState(page, 'fits');
    expect(await memoryText(page)).toMatch(/\(47\.\d MiB\)/);

    // Still nothing but config.json fetched: the weights wait for Load or Start.
    expect(new Set(env.files.requests.map((r) => r.path))).toEqual(new Set(['/fixtures/tiny-llama/config.json']));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('without the setting, measures by allocating on this GPU and says so', async () => {
    const { page, errors } = await openPage(env.browser);
    await page.goto(env.url); // the demo model, a few MiB: SwiftShader allocates that for real
    await memoryState(page, 'fits');
    const text = await memoryText(page);
    expect(text).toMatch(/✓ Fits this GPU/);
    expect(text).toMatch(/Measured: this GPU allocated [\d.]+ MiB in a test and freed it/);
    expect(await page.$eval('[data-memory-basis]', (el) => (el as HTMLElement).dataset.memoryBasis)).toBe('probe');
    await page.$eval('#settings .memory', (el) => el.scrollIntoView());
    await screenshot(page, 'memory-measured');
    expect(errors).toEqual([]);
    await page.close();
  });
});
