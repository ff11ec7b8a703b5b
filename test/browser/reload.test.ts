// A reload in the middle of a run keeps the work (issue 19, point 1), in headless Chromium on
// SwiftShader: a model from a URL and an uploaded dataset, settings changed from their defaults, a run
// started and the page reloaded while it trains. After the reload the settings and the uploaded file
// are back, the run is offered ("Run stopped at step N — Resume?"), and resuming it names its dataset
// in the Data panel. Then the rough edges of point 8 on that run: Stop lands at the end of the step on
// the GPU and says "Stopped", and a renamed run's adapter zip carries its name. Screenshots go to
// test-output/screenshots.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { hasChromium, useBrowserApp, openPage, screenshot, waitForDownload, waitForRunState } from '../helpers/browser';
import { FIXTURES } from '../helpers/golden';

let dataDir: string;
const env = useBrowserApp(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'qlora-reload-'));
  const good = JSON.parse(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8')).slice(0, 12) as object[];
  writeFileSync(join(dataDir, 'words.jsonl'), good.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { fixtures: FIXTURES };
});

/** Sets a setting's field as typing does (the fields commit on `input`; model addresses on `change`). */
async function setField(page: Page, name: string, value: string, event = 'input'): Promise<void> {
  await page.$eval(`[name="${name}"]`, (el, v, e) => {
    (el as HTMLInputElement).value = v as string;
    el.dispatchEvent(new Event(e as string, { bubbles: true }));
  }, value, event);
}

const text = (page: Page, sel: string) => page.$eval(sel, (el) => (el as HTMLElement).innerText);
const field = (page: Page, name: string) => page.$eval(`[name="${name}"]`, (el) => (el as HTMLInputElement).value);
const CHANGED: Record<string, string> = { steps: '40', batchSize: '1', loraR: '4', lr: '1e-3', maxLength: '256', checkpointEvery: '1', evalEvery: '100' };

describe.skipIf(!hasChromium())('a reload in the middle of a run', () => {
  it('keeps the uploaded dataset and the settings, offers the run, and resumes it on its own data', async () => {
    const { page, downloads, errors } = await openPage(env.browser);
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(env.url);
    await page.waitForSelector('[data-action="demo"]');
    await page.select('#model select', 'url');
    await setField(page, 'model-url', `${env.files.base}fixtures/tiny-llama/`, 'change');
    await (await page.$('input[name="data-file"]'))!.uploadFile(join(dataDir, 'words.jsonl'));
    for (const [k, v] of Object.entries(CHANGED)) await setField(page, k, v);
    // Checked as soon as it is chosen (issue 19, point 4): the status says what was read.
    await page.waitForFunction(() => /words\.jsonl: 12 record\(s\) read/.test(document.querySelector('#data .data-status')?.textContent ?? ''), { polling: 100 });
    await page.waitForFunction(() => !(document.querySelector('[data-action="start"]') as HTMLButtonElement).disabled, { polling: 100, timeout: 60_000 });
    await page.click('[data-action="start"]');
    await page.waitForFunction(() => Number(document.body.dataset.checkpointStep ?? 0) >= 2, { polling: 100 });
    await page.$eval('#run', (el) => el.scrollIntoView());
    await screenshot(page, 'reload-1-before');

    await page.reload();
    // The offer, at the top: the run, the step it stopped at, Resume.
    const offer = await page.waitForSelector('.resume-offer [data-action="resume-offer"]', { timeout: 120_000 });
    const offerText = await text(page, '.resume-offer');
    expect(offerText).toMatch(/Run stopped at step (\d+) of 40/);
    expect(Number(offerText.match(/step (\d+)/)![1])).toBeGreaterThanOrEqual(2);
    expect(offerText).toMatch(/tiny-llama\/ · words\.jsonl/);
    // The settings are the ones set before the reload, not the defaults…
    for (const [k, v] of Object.entries(CHANGED)) expect([k, await field(page, k)]).toEqual([k, v]);
    expect(await field(page, 'model-url')).toBe(`${env.files.base}fixtures/tiny-llama/`);
    // …and the uploaded file is still the chosen dataset: the Data panel does not fall back on the demo.
    const status = await text(page, '#data .data-status');
    expect(status).toMatch(/^words\.jsonl \(kept in this browser from before the reload\)/);
    expect(status).not.toMatch(/demo/);
    await screenshot(page, 'reload-2-after-reload-offer');
    await page.$eval('#data', (el) => el.scrollIntoView());
    await screenshot(page, 'reload-3-after-reload-data-kept');

    // Resume: the run trains on from its checkpoint, and the Data panel names the run's dataset.
    await offer!.click();
    await page.waitForFunction(() => document.body.dataset.runState === 'training' && Number(document.body.dataset.step) >= 3, { polling: 100 });
    expect(await page.$('.resume-offer:not([hidden])')).toBeNull();
    await page.waitForFunction(() => /^Using words\.jsonl \(stored with the run/.test(document.querySelector('#data .data-status')?.textContent ?? ''), { polling: 100, timeout: 60_000 });
    await page.$eval('#run', (el) => el.scrollIntoView());
    await screenshot(page, 'reload-4-resumed');

    // Stop lands at the end of the step on the GPU: one step past the one shown at most, and says Stopped.
    const shown = await page.evaluate(() => {
      const step = Number(document.body.dataset.step);
      (document.querySelector('[data-action="stop"]') as HTMLButtonElement).click();
      return step;
    });
    expect(await waitForRunState(page, ['done', 'error'])).toBe('done');
    expect(await text(page, '.phase-badge')).toBe('Stopped');
    const final = Number(await page.evaluate(() => document.body.dataset.step));
    expect(final).toBeGreaterThanOrEqual(shown);
    expect(final).toBeLessThanOrEqual(shown + 1);

    // Renamed, the run's downloads carry its name.
    const runId = await page.$eval('[data-action="rename-run"]', (el) => (el as HTMLElement).dataset.runId!);
    await page.click(`[data-action="rename-run"][data-run-id="${runId}"]`);
    await page.$eval(`[data-rename-input="${runId}"]`, (el) => { (el as HTMLInputElement).value = 'Capitals, take 2'; });
    await page.click('[data-action="save-run-name"]');
    await page.waitForFunction((id: string) => document.querySelector(`li[data-run-id="${id}"] .run-name`)?.textContent === 'Capitals, take 2', { polling: 100, timeout: 30_000 }, runId);
    await page.click('[data-action="export-adapter"]');
    expect(basename(await waitForDownload(downloads, /-adapter\.zip$/))).toBe('tiny-llama-Capitals-take-2-adapter.zip');
    // The Storage panel lists it by its new name, stopped (the name and state are stored, not only shown).
    await page.waitForFunction(() => [...document.querySelectorAll('table.stored tr')].some((tr) => /Capitals, take 2/.test(tr.textContent ?? '') && /stopped, step \d+\/40/.test(tr.textContent ?? '')), { polling: 250, timeout: 30_000 });
    await page.$eval('#run', (el) => el.scrollIntoView());
    await screenshot(page, 'reload-5-stopped-and-renamed');
    expect(errors.filter((e) => !/404|Failed to load resource|ERR_NAME_NOT_RESOLVED|huggingface/.test(e))).toEqual([]);
    await page.close();
  }, 900_000);
});
