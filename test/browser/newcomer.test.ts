// The page as a newcomer and a teacher meet it (issue 12), in headless Chromium on SwiftShader, driven
// through the controls a person uses: a phone-width header; a URL model chosen in the Model panel (and
// still chosen after a reload); a .txt dataset read as plain text; a dataset error shown in the Data
// panel at the file's line; a 404 model URL; then a short run, reopened after a reload from the list of
// stored runs to export and try its adapter. Screenshots go to test-output/screenshots.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { hasChromium, useBrowserApp, openPage, screenshot, waitForDownload, waitForRunState } from '../helpers/browser';
import { FIXTURES } from '../helpers/golden';

let dataDir: string;
const env = useBrowserApp(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'qlora-newcomer-'));
  writeFileSync(join(dataDir, 'notes.txt'), 'Red, yellow and blue are the primary colors.\nThey mix into the others.\n\nThe sky is blue.\n');
  // A pretty-printed JSON list whose third record (index 2) starts on line 12 and lacks "output".
  const good = JSON.parse(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8')).slice(0, 2);
  writeFileSync(join(dataDir, 'no-output.json'), JSON.stringify([...good, { instruction: 'No answer here' }], null, 2) + '\n');
  return { fixtures: FIXTURES };
});

const fixtureModel = () => `${env.files.base}fixtures/tiny-llama/`;

async function chooseUrlModel(page: Page, url: string): Promise<void> {
  await page.select('#model select', 'url');
  const input = (await page.$('input[name="model-url"]'))!;
  await input.click({ count: 3 });
  await input.type(url);
  await page.$eval('input[name="model-url"]', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
}

async function upload(page: Page, path: string): Promise<void> {
  const input = (await page.$('input[name="data-file"]'))!;
  await input.uploadFile(path);
}

const dataText = (page: Page) => page.$eval('#data', (el) => (el as HTMLElement).innerText);

describe.skipIf(!hasChromium())('the page as a newcomer meets it', () => {
  it('fits a phone, keeps the chosen model, reads .txt as text and shows dataset errors beside the file by line', async () => {
    const { page, errors } = await openPage(env.browser);
    const warnings: string[] = [];
    page.on('console', (m) => void (m.type() === 'warn' ? warnings.push(m.text()) : undefined));

    // Point 9: the header fits 390 px.
    await page.setViewport({ width: 390, height: 844 });
    await page.goto(env.url);
    await page.waitForSelector('[data-action="demo"]');
    const overflow = await page.evaluate(() => {
      const top = document.querySelector('header.top') as HTMLElement;
      return { page: document.documentElement.scrollWidth, header: top.scrollWidth - top.clientWidth, right: Math.max(...[...top.querySelectorAll('button, a')].map((b) => b.getBoundingClientRect().right)) };
    });
    await screenshot(page, 'newcomer-390px');
    expect(overflow.header).toBeLessThanOrEqual(0);
    expect(overflow.right).toBeLessThanOrEqual(390);
    await page.setViewport({ width: 1280, height: 1600 });

    // Point 9: a 404 model URL is "not found", with nothing to resume, logged once as a warning.
    await chooseUrlModel(page, `${env.files.base}fixtures/no-such-model/`);
    await page.click('[data-action="load-model"]');
    await page.waitForFunction(() => document.body.dataset.runState === 'error', { polling: 100 });
    expect(await page.evaluate(() => document.body.dataset.errorCode)).toBe('NETWORK');
    expect(await page.$('[data-error-action="retry-download"]')).toBeNull();
    expect(await page.$eval('.error-view', (el) => (el as HTMLElement).innerText)).toMatch(/not found/i);
    await screenshot(page, 'newcomer-404-model');
    expect(warnings.filter((w) => w.includes('NETWORK'))).toHaveLength(1);
    expect(errors.filter((e) => !/404|Failed to load resource/.test(e))).toEqual([]);
    await page.click('[data-error-action="dismiss"]');

    // Point 9: the chosen model survives a reload; loading it asks for no chat_template.jinja.
    await chooseUrlModel(page, fixtureModel());
    await page.reload();
    await page.waitForSelector('[data-action="load-model"]');
    expect(await page.$eval('#model select', (el) => (el as HTMLSelectElement).value)).toBe('url');
    expect(await page.$eval('input[name="model-url"]', (el) => (el as HTMLInputElement).value)).toBe(fixtureModel());
    env.files.requests.length = 0;
    await page.click('[data-action="load-model"]');
    await page.waitForFunction(() => document.querySelector('#model')?.textContent?.includes('Loaded'), { polling: 100 });
    expect(env.files.requests.map((r) => r.path)).toContain('/fixtures/tiny-llama/config.json');
    expect(env.files.requests.filter((r) => r.path.endsWith('chat_template.jinja'))).toEqual([]);

    // Point 4: a .txt file is plain text, cut into documents at blank lines, and the panel says so.
    await upload(page, join(dataDir, 'notes.txt'));
    await page.waitForSelector('[data-reading]');
    const txt = await dataText(page);
    expect(txt).toMatch(/Plain text/);
    expect(txt).toMatch(/2 documents, one per block of lines separated by a blank line/);
    await screenshot(page, 'newcomer-plain-text');

    // Point 5: a record that cannot be used is shown in the Data panel, by the line it starts on.
    await upload(page, join(dataDir, 'no-output.json'));
    await page.waitForSelector('#data .data-problem:not([hidden])');
    const problem = await page.$eval('#data .data-problem', (el) => (el as HTMLElement).innerText);
    expect(problem).toMatch(/no-output\.json/);
    expect(problem).toMatch(/line 12/);
    expect(problem).toMatch(/missing field "output"/);
    expect(problem).not.toMatch(/record #/);
    // A chosen file's problem is the Data panel's (issue 19): nothing ran, so no page-level error.
    expect(await page.evaluate(() => document.body.dataset.runState)).not.toBe('error');
    await page.$eval('#data', (el) => el.scrollIntoView());
    await screenshot(page, 'newcomer-data-error-beside-file');
    await page.click('#data [data-action="skip-bad-rows"]');
    await page.waitForFunction(() => document.querySelector('#data .data-summary')?.textContent?.includes('1 row(s) skipped'), { polling: 100 });
    expect(await dataText(page)).toMatch(/line 12/);
    expect(await page.$('#data .data-problem:not([hidden])')).toBeNull();
    expect(errors.filter((e) => !/404|Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  });

  it('says what happens before the first step, reopens a finished run after a reload to export and try it, compares runs, asks before deleting', async () => {
    const { page, downloads, errors } = await openPage(env.browser);
    await page.goto(env.url);
    await page.waitForSelector('[data-action="demo"]');
    await page.evaluate(() => {
      // What the Train panel says at each change: the status line, the step and the ETA.
      const log: { step: string; status: string; eta: string }[] = [];
      (window as unknown as { runLog: typeof log }).runLog = log;
      const read = () => log.push({
        step: document.body.dataset.step ?? '', status: document.querySelector('.run-status')?.textContent ?? '',
        eta: document.querySelector('[data-eta] .metric-value')?.textContent ?? '',
      });
      new MutationObserver(read).observe(document.querySelector('#run')!, { subtree: true, childList: true, characterData: true });
    });

    // Points 6 and 9: Try the demo moves focus to the run, which says what it does before step 1 and
    // estimates its ETA from the steps after the first (which compiles the shaders).
    await page.click('[data-action="demo"]');
    // Focus moves once the run panel is shown; wait for it rather than racing the click's handler.
    await page.waitForFunction(() => document.activeElement?.id === 'run-title', { polling: 50, timeout: 20_000 });
    await page.waitForFunction(() => Number(document.body.dataset.step) >= 2, { polling: 100, timeout: 300_000 });
    await page.click('[data-action="stop"]');
    expect(await waitForRunState(page, ['done', 'error'])).toBe('done');
    const log = await page.evaluate(() => (window as unknown as { runLog: { step: string; status: string; eta: string }[] }).runLog);
    const beforeFirst = log.filter((l) => l.step === '0').map((l) => l.status);
    // A MutationObserver batches changes made within one task, so a phase that lasts no longer than that
    // can be missed: require the phases to be named, not every one of them to be seen.
    expect(beforeFirst.some((t) => /compiling GPU shaders|preparing the adapter|uploading/.test(t)), beforeFirst.join(' | ')).toBe(true);
    expect(log.filter((l) => l.step === '1').every((l) => /estimating/.test(l.eta))).toBe(true);
    expect(log.some((l) => l.step === '2' && /\d/.test(l.eta))).toBe(true);

    // Point 9: the Learn view does not claim QLoRA saves memory on a model where it does not.
    await page.$eval('#learn', (el) => el.scrollIntoView());
    const ratio = await page.waitForSelector('[data-learn="memory-ratio"]').then((el) => el!.evaluate((e) => e.textContent ?? ''));
    const percent = Number(/needs (\d+)/.exec(ratio)?.[1]);
    if (percent >= 80) expect(ratio).toMatch(/because this model is tiny/);

    // A second, finished run on the fixture model (a URL model) with another learning rate.
    const q = new URLSearchParams({ model: fixtureModel(), data: `${env.files.base}fixtures/alpaca-tiny.json`, limit: '12', steps: '3', batchSize: '2', lr: '0.001', evalEvery: '1', autostart: '1' });
    await page.goto(`${env.url}?${q}`);
    expect(await waitForRunState(page, ['done', 'error'])).toBe('done');

    // Point 2: after a reload both runs are listed; the finished one opens, exports and answers.
    await page.goto(env.url);
    await page.waitForFunction(() => document.querySelectorAll('[data-action="open-run"]').length === 2, { polling: 250 });
    const [finished, stopped] = await page.$$eval('.run-list li', (lis) => lis.map((li) => (li as HTMLElement).dataset.runId!));
    await page.click(`[data-action="open-run"][data-run-id="${finished}"]`);
    await page.waitForFunction(() => !(document.querySelector('[data-action="export-adapter"]') as HTMLButtonElement).disabled, { polling: 250 });
    expect(await page.evaluate(() => document.body.dataset.step)).toBe('3');
    await page.click('[data-action="export-adapter"]');
    const adapter = unzipSync(new Uint8Array(readFileSync(await waitForDownload(downloads, /-adapter\.zip$/))));
    const adapterConfig = JSON.parse(new TextDecoder().decode(adapter['adapter_config.json']));
    expect(adapterConfig.base_model_name_or_path).toBeNull(); // a URL is nothing from_pretrained can load…
    expect(new TextDecoder().decode(adapter['README.md'])).toContain(`it came from ${fixtureModel()}`); // …so the card says what to put there

    // Point 8: the merged model is one zip, a folder from_pretrained loads; the script names what to load.
    await page.click('[data-action="export-merged"]');
    const merged = unzipSync(new Uint8Array(readFileSync(await waitForDownload(downloads, 'tiny-llama-merged.zip'))));
    expect(Object.keys(merged)).toEqual(expect.arrayContaining(['tiny-llama-merged/config.json', 'tiny-llama-merged/model.safetensors', 'tiny-llama-merged/tokenizer.json']));
    await page.click('[data-action="export-script"]');
    const script = readFileSync(await waitForDownload(downloads, 'train_qlora.py'), 'utf8');
    expect(script).toContain('MODEL_ID = "path/to/base-model"');
    expect(script).toContain(`it came from ${fixtureModel()}`);

    await page.click('[data-action="generate"]');
    await page.waitForFunction(() => document.querySelector('#playground [role="status"]')?.textContent === 'Done.', { polling: 250 });
    expect(await page.$eval('output[aria-label="Fine-tuned model output"]', (el) => el.textContent)).not.toMatch(/No adapter yet/);
    await page.$eval('#playground', (el) => el.scrollIntoView());
    await screenshot(page, 'newcomer-opened-run');

    // Point 3: the two runs compared: both curves on one chart, the settings that differ marked.
    for (const id of [finished, stopped]) await page.click(`[data-action="compare-run"][data-run-id="${id}"]`);
    await page.waitForSelector('.run-compare[data-compare="2"]');
    const differs = await page.$$eval('.compare-settings tr.differs', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.setting));
    expect(differs).toEqual(expect.arrayContaining(['Model', 'Learning rate']));
    expect(await page.$$eval('.run-compare path', (ps) => ps.length)).toBeGreaterThanOrEqual(2);
    await page.$eval('.run-compare', (el) => el.scrollIntoView());
    await screenshot(page, 'newcomer-compare-runs');

    // Point 2: Delete asks first, and says what goes.
    const asked: string[] = [];
    page.on('dialog', (d) => {
      asked.push(d.message());
      void d.accept();
    });
    // Clicked inside the page: the Storage list can re-render between puppeteer finding the button and clicking it.
    await page.$eval(`[data-action="delete-stored"][data-key="${stopped}"]`, (el) => (el as HTMLElement).click());
    await page.waitForFunction((k: string) => !document.querySelector(`[data-action="delete-stored"][data-key="${k}"]`), { polling: 250 }, stopped);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/checkpoint — the trained adapter/);
    expect(errors.filter((e) => !/404|Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  });
});
