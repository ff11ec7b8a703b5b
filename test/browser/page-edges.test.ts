// The page as people really meet it (issue 19, points 2, 3, 6 and 8), in headless Chromium on
// SwiftShader, in one page load: a model address typed without https:// (and one that cannot be
// read), Start's reason and fixes beside it, a half-typed max length kept at its field, a data problem
// naming its file once, counts that add up, the derived line while a field is wrong, Copy link naming
// the dataset it cannot carry, Stop saying "Stopped", and the adapter zip named after the run.
// (Point 7, the demo's answers appearing by themselves, is in demo.test.ts.) Screenshots go to
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
  dataDir = mkdtempSync(join(tmpdir(), 'qlora-edges-'));
  // Twelve good records and, on the last line, one without "output".
  const good = JSON.parse(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8')).slice(0, 12) as object[];
  writeFileSync(join(dataDir, 'words.jsonl'), [...good, { instruction: 'No answer here' }].map((r) => JSON.stringify(r)).join('\n') + '\n');
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
const badge = (page: Page) => text(page, '.phase-badge');

/** Every element matching `sel` lies inside its panel (nothing runs past the panel's edge). */
const insidePanels = (page: Page, sel: string) => page.$$eval(sel, (els) => els.map((el) => {
  const r = el.getBoundingClientRect();
  const p = el.closest('.panel')!.getBoundingClientRect();
  return r.right <= p.right + 0.5 && r.left >= p.left - 0.5;
}));

describe.skipIf(!hasChromium())('the page as people really meet it', () => {
  it('reads addresses as meant, says beside Start why it cannot start, keeps field slips at the field, and smooths the rough edges', async () => {
    const { page, downloads, errors } = await openPage(env.browser);
    await page.setViewport({ width: 1280, height: 1000 });
    // A "GPU" of 100 MiB, so that batch 32 on the fixture model does not fit (test/browser/memory.test.ts).
    await page.goto(`${env.url}?gpu-memory=100MiB`);
    await page.waitForSelector('[data-action="demo"]');

    // Point 6: huggingface.co/owner/name is a Hub model (the preset is picked, with its token field)…
    await page.select('#model select', 'url');
    await setField(page, 'model-url', 'huggingface.co/Qwen/Qwen3-0.6B', 'change');
    expect(await page.$eval('#model select', (el) => (el as HTMLSelectElement).value)).toBe('hub:Qwen/Qwen3-0.6B');
    expect(await page.$eval('input[name="hf-token"]', (el) => (el as HTMLElement).closest('form')!.hidden)).toBe(false);
    // …a path with no host is refused at the field, in words that say what to type…
    await page.select('#model select', 'url');
    await setField(page, 'model-url', 'models/x/y', 'change');
    const refusal = await page.$eval('input[name="model-url"]', (el) => document.getElementById(`${el.id}-err`)!.textContent ?? '');
    expect(refusal).toMatch(/neither a Hub id \(owner\/name\) nor an address.*https:\/\/example\.com\/models\/my-model\//);
    expect(await page.evaluate(() => document.body.dataset.runState)).toBe('idle');
    // Nothing is fetched from the app's own server meanwhile: the estimate says what to type.
    await page.waitForFunction(() => /No estimate: No model given/.test((document.querySelector('#settings .memory') as HTMLElement).innerText), { polling: 100, timeout: 30_000 });
    expect(await text(page, '#settings .memory')).not.toMatch(/Unexpected token|not valid JSON/);
    await page.$eval('#model', (el) => el.scrollIntoView());
    await screenshot(page, 'edges-model-address-refused');
    // …and a bare host is fetched from that host (here the fixture server), with no token field (point 8).
    const fixtureHost = `${env.files.base.replace(/^http:\/\//, '')}fixtures/tiny-llama/`;
    env.files.requests.length = 0;
    await setField(page, 'model-url', fixtureHost, 'change');
    await page.waitForFunction(() => ['fits', 'does-not-fit'].includes((document.querySelector('#settings .memory') as HTMLElement).dataset.memory ?? ''), { polling: 100, timeout: 60_000 });
    expect(env.files.requests.map((r) => r.path)).toContain('/fixtures/tiny-llama/config.json');
    expect(await page.$eval('input[name="model-url"]', (el) => document.getElementById(`${el.id}-err`)!.textContent)).toBe('');
    expect(await page.$eval('input[name="hf-token"]', (el) => (el as HTMLElement).closest('form')!.hidden)).toBe(true);

    // Point 8: the derived line waits while a field it is made from is wrong, and follows it at once.
    await setField(page, 'gradAccum', '');
    expect(await text(page, '#settings .derived')).toMatch(/Effective batch: — \(waiting/);
    await setField(page, 'gradAccum', '3');
    expect(await text(page, '#settings .derived')).toMatch(/Effective batch: 12 examples per update/);
    await setField(page, 'gradAccum', '1');

    // Point 2: a run that does not fit says so beside Start, with the fixes, and Start points at it.
    await setField(page, 'batchSize', '32');
    await page.waitForSelector('#start-blocker[data-blocker="does-not-fit"]:not([hidden])', { timeout: 60_000 });
    expect(await page.$eval('[data-action="start"]', (el) => [(el as HTMLButtonElement).disabled, el.getAttribute('aria-describedby')])).toEqual([true, 'start-blocker']);
    const gap = await page.evaluate(() => document.getElementById('start-blocker')!.getBoundingClientRect().top - document.querySelector('[data-action="start"]')!.getBoundingClientRect().bottom);
    expect(gap).toBeLessThan(60);
    expect(await text(page, '#start-blocker')).toMatch(/Start is disabled: this run does not fit in GPU memory\..*100\.0 MiB/s);
    expect((await page.$$('[data-start-fix]')).length).toBeGreaterThan(1);
    // Point 8: the fixes' labels wrap inside their panels, beside Start and in Settings.
    expect(await insidePanels(page, '[data-start-fix], [data-memory-fix]')).not.toContain(false);
    await page.$eval('#run', (el) => el.scrollIntoView());
    await screenshot(page, 'edges-start-blocked-beside-start');
    // Each fix re-estimates, and the line beside Start follows.
    for (const fix of ['checkpointing', 'batch']) {
      const before = await text(page, '#start-blocker');
      await page.click(`[data-start-fix="${fix}"]`);
      await page.waitForFunction((b: string) => (document.getElementById('start-blocker') as HTMLElement).innerText !== b, { polling: 50, timeout: 60_000 }, before);
    }
    await page.waitForFunction(() => (document.getElementById('start-blocker') as HTMLElement).hidden, { polling: 100, timeout: 60_000 });
    expect(await page.$eval('[data-action="start"]', (el) => (el as HTMLButtonElement).disabled)).toBe(false);

    // Point 3: with the model loaded, a half-typed max length past its context stays at the field.
    await page.click('[data-action="load-model"]');
    await page.waitForFunction(() => document.querySelector('#model')?.textContent?.includes('Loaded'), { polling: 100 });
    await setField(page, 'maxLength', '100000');
    const lengthError = await page.$eval('input[name="maxLength"]', (el) => [el.getAttribute('aria-invalid'), el.closest('.field')!.querySelector('.field-error')!.textContent]);
    expect(lengthError[0]).toBe('true');
    expect(lengthError[1]).toMatch(/longer than this model's context of 512 positions/);
    await new Promise((r) => setTimeout(r, 800)); // past the 400 ms after which a changed setting re-reads the data
    expect(await page.evaluate(() => document.body.dataset.runState)).toBe('idle');
    expect(await badge(page)).not.toBe('Error');
    expect(await page.$eval('.error-view', (el) => (el as HTMLElement).hidden)).toBe(true);
    expect(await text(page, '.run-status')).not.toMatch(/Stopped by an error/);
    expect(await text(page, '#start-blocker')).toMatch(/a setting is not valid \(Max length \(tokens\)\)/);
    await page.$eval('#data', (el) => el.scrollIntoView());
    await screenshot(page, 'edges-max-length-at-the-field');
    await page.click('[data-goto-field="maxLength"]');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).name)).toBe('maxLength');
    await setField(page, 'maxLength', '256');
    await page.waitForFunction(() => (document.getElementById('start-blocker') as HTMLElement).hidden, { polling: 100 });
    expect(await page.$eval('input[name="gradientCheckpointing"]', (el) => (el as HTMLInputElement).checked)).toBe(true);

    // Point 8: a dataset problem names the file once; the status does not say "not read yet".
    await (await page.$('input[name="data-file"]'))!.uploadFile(join(dataDir, 'words.jsonl'));
    await page.waitForSelector('#data .data-problem:not([hidden])');
    const problem = await text(page, '#data .data-problem');
    expect(problem.match(/words\.jsonl/g)).toHaveLength(1);
    expect(await text(page, '#data .data-status')).toMatch(/words\.jsonl could not be used: see the problem above/);
    await page.click('#data [data-action="skip-bad-rows"]');
    await page.waitForFunction(() => document.querySelector('#data .data-summary') || document.body.dataset.runState === 'error', { polling: 100 });
    if (!(await page.$('#data .data-summary'))) {
      await screenshot(page, 'edges-no-data-summary');
      throw new Error(`no summary: ${await text(page, '.error-view')} // ${await text(page, '#data')}`);
    }
    // …and the counts add up: 13 read, 1 skipped, 12 split into train and validation.
    expect(await text(page, '#data [data-records] .metric-value')).toBe('13 read − 1 skipped = 12');
    const [train, val] = (await text(page, '#data .data-summary')).match(/(\d+) \/ (\d+)/)!.slice(1).map(Number);
    expect(train + val).toBe(12);
    await page.$eval('#data', (el) => el.scrollIntoView());
    await screenshot(page, 'edges-data-counts');

    // Point 8: Copy link names the uploaded dataset it cannot carry.
    await page.click('[data-action="copy-link"]');
    await page.waitForFunction(() => /words\.jsonl" is not part of it/.test(document.querySelector('header .notice')?.textContent ?? ''), { polling: 100, timeout: 10_000 });

    // Point 8: Stop says it is stopping, the badge then says Stopped (not Done), and the adapter zip is
    // named after the model, the dataset and the run.
    // A small run: one example per step, no recomputation (the fixes above turned it on).
    await setField(page, 'steps', '60');
    await setField(page, 'batchSize', '1');
    await setField(page, 'gradAccum', '1');
    await page.click('input[name="gradientCheckpointing"]');
    await page.click('[data-action="start"]');
    await page.waitForFunction(() => Number(document.body.dataset.step) >= 1, { polling: 100, timeout: 300_000 });
    // The step shown and the click in one task, so no step event comes between them.
    const stopAt = await page.evaluate(() => {
      const step = Number(document.body.dataset.step);
      (document.querySelector('[data-action="stop"]') as HTMLButtonElement).click();
      return step;
    });
    expect(await text(page, '.run-status')).toMatch(/Stopping|Stopped/);
    expect(await waitForRunState(page, ['done', 'error'])).toBe('done');
    expect(await badge(page)).toBe('Stopped');
    // The page's engine queues no step ahead of the one shown: a stop lands at the end of the step on the GPU.
    expect(Number(await page.evaluate(() => document.body.dataset.step))).toBeLessThanOrEqual(stopAt + 1);
    await page.click('[data-action="export-adapter"]');
    const zip = basename(await waitForDownload(downloads, /-adapter\.zip$/));
    expect(zip).toMatch(/^tiny-llama-words-[a-z0-9]+-adapter\.zip$/);

    // Point 8: Learn's labels are not clipped.
    await page.$eval('#learn', (el) => el.scrollIntoView());
    await page.waitForSelector('#learn .param-labels', { timeout: 120_000 });
    expect(await insidePanels(page, '#learn .param-labels > span')).not.toContain(false);
    await screenshot(page, 'edges-stopped-and-learn');
    expect(errors.filter((e) => !/404|Failed to load resource|ERR_NAME_NOT_RESOLVED|huggingface/.test(e))).toEqual([]);
    await page.close();
  }, 900_000);
});
