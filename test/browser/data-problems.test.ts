// Data problems as a person meets them (issue 19, items 4 and 5), in headless Chromium: a chosen file is
// read and checked at once, before any model, with every problem listed together and only the advice
// that can work (an empty file: choose another; other column names: the column mapping, suggested from
// the file's columns; bad rows: skip them), and Start stopping on them before any weights download.
// Then a run from a link that sets `columns=`, on a file with bad rows skipped, and its exported script
// carrying the same mapping and naming the skipped rows.
// Screenshots go to test-output/screenshots.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { hasChromium, useBrowserApp, openPage, screenshot, waitForDownload, waitForRunState } from '../helpers/browser';
import { FIXTURES } from '../helpers/golden';

let dir: string;
const env = useBrowserApp(() => {
  dir = mkdtempSync(join(tmpdir(), 'qlora-data-problems-'));
  const good = JSON.parse(readFileSync(`${FIXTURES}alpaca-tiny.json`, 'utf8')).slice(0, 4) as { instruction: string; output: string }[];
  const jsonl = (rows: (object | string)[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
  writeFileSync(join(dir, 'empty.jsonl'), '');
  // Line 2 cannot be read, line 4 has no output, line 5 an empty one: three problems, one list.
  writeFileSync(join(dir, 'rows.jsonl'), jsonl([good[0], '{"instruction": "no closing brace"', good[1], { instruction: 'no output' }, { instruction: 'x', output: ' ' }, good[2]]));
  // The fields under other names; in qa-bad.jsonl line 2 cannot be read and line 4 has no answer.
  const qa = good.map((r) => ({ question: r.instruction, answer: r.output }));
  writeFileSync(join(dir, 'qa.jsonl'), jsonl(qa));
  writeFileSync(join(dir, 'qa-bad.jsonl'), jsonl([qa[0], '{"question": "cut', qa[1], { question: 'no answer' }, qa[2], qa[3]]));
  return { fixtures: FIXTURES };
});

const upload = async (page: Page, name: string) => (await page.$('input[name="data-file"]'))!.uploadFile(join(dir, name));
const text = (page: Page, selector: string) => page.$eval(selector, (el) => (el as HTMLElement).innerText);
const problemOf = (page: Page, kind: string) => page.waitForSelector(`#data .data-problem:not([hidden]) [data-problem="${kind}"]`, { timeout: 30_000 });

describe.skipIf(!hasChromium())('data problems, at once and with advice that can work', () => {
  it('checks a chosen file before any model: every row at once, an empty file, other column names mapped', async () => {
    const { page, errors } = await openPage(env.browser);
    await page.goto(env.url);
    await page.waitForSelector('[data-action="demo"]');

    // Every problem in one list, before any model is loaded; skipping offered with what is left.
    await upload(page, 'rows.jsonl');
    await problemOf(page, 'rows');
    const rows = await text(page, '#data .data-problem');
    for (const line of ['line 2', 'line 4', 'line 5']) expect(rows).toContain(line);
    expect(rows).toMatch(/not valid JSON[\s\S]*missing field "output"[\s\S]*"output" is empty/);
    expect(await text(page, '#data [data-action="skip-bad-rows"]')).toBe('Skip these 3 rows, train on the other 3');
    expect(await page.evaluate(() => document.body.dataset.runState)).not.toBe('error'); // the panel's, not the page's
    await page.$eval('#data', (el) => el.scrollIntoView());
    await screenshot(page, 'data-problems-all-rows-at-once');
    await page.click('#data [data-action="skip-bad-rows"]');
    await page.waitForFunction(() => document.querySelector('#data .data-status')?.textContent?.includes('the rows listed are skipped'), { polling: 100 });

    // An empty file: nothing to skip, so no "Skip these rows" that would loop back.
    await upload(page, 'empty.jsonl');
    await problemOf(page, 'empty');
    expect(await text(page, '#data .data-problem')).toMatch(/The dataset is empty[\s\S]*Choose another file/);
    expect(await page.$('#data [data-action="skip-bad-rows"]')).toBeNull();
    await screenshot(page, 'data-problems-empty-file');

    // Other column names: no "skip them", but the columns found, a suggested mapping and the mapping itself.
    await upload(page, 'qa.jsonl');
    await problemOf(page, 'columns');
    const columns = await text(page, '#data .data-problem');
    expect(columns).toMatch(/Columns found: question, answer/);
    expect(columns).not.toMatch(/skip/i);
    expect(await page.$('#data [data-action="skip-bad-rows"]')).toBeNull();
    expect(await page.$$eval('select[name="column-output"] option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['', 'question', 'answer']);
    await screenshot(page, 'data-problems-other-column-names');
    expect(await text(page, '[data-action="use-suggested-columns"]')).toBe('Read question → instruction, answer → output');
    await page.click('[data-action="use-suggested-columns"]');
    await page.waitForFunction(() => document.querySelector('#data .data-status')?.textContent?.includes('every one usable'), { polling: 100 });
    expect(await page.$eval('select[name="column-instruction"]', (el) => (el as HTMLSelectElement).value)).toBe('question');
    expect(await text(page, '[data-columns-setting]')).toContain('columns=instruction=question,output=answer');
    expect(await page.$('#data .data-problem:not([hidden])')).toBeNull();
    // Chosen by hand too: clearing the output column brings the problem back, choosing it clears it.
    await page.select('select[name="column-output"]', '');
    await problemOf(page, 'columns');
    await page.select('select[name="column-output"]', 'answer');
    await page.waitForFunction(() => document.querySelector('#data .data-problem')?.hasAttribute('hidden'), { polling: 100 });
    await page.$eval('[data-column-mapping]', (el) => el.scrollIntoView());
    await screenshot(page, 'data-problems-columns-mapped');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a link with columns= trains on the mapped file with its bad rows skipped; the exported script does the same', async () => {
    const { page, downloads, errors } = await openPage(env.browser);
    const q = new URLSearchParams({ model: `${env.files.base}fixtures/tiny-llama/`, columns: 'instruction=question,output=answer', steps: '1', batchSize: '2', maxLength: '256', valSplit: '0' });
    await page.goto(`${env.url}?${q}`);
    await page.waitForSelector('[data-action="demo"]');
    expect(await page.$eval('select[name="column-output"]', (el) => (el as HTMLSelectElement).value)).toBe('answer');
    await upload(page, 'qa-bad.jsonl');
    await problemOf(page, 'rows');
    const listed = await text(page, '#data .data-problem');
    expect(listed).toMatch(/line 2[\s\S]*not valid JSON[\s\S]*line 4[\s\S]*missing field "answer" \(the output column\)/);
    // Start without skipping: the run stops on the data before any weights are downloaded.
    env.files.requests.length = 0;
    await page.click('[data-action="start"]');
    expect(await waitForRunState(page, ['error', 'done'])).toBe('error');
    expect(await page.evaluate(() => document.body.dataset.errorCode)).toBe('DATASET_INVALID');
    expect(env.files.requests.filter((r) => r.path.endsWith('.safetensors'))).toEqual([]);
    await page.click('#data [data-action="skip-bad-rows"]');
    await page.waitForFunction(() => document.body.dataset.runState !== 'error', { polling: 100 });
    await page.click('[data-action="start"]');
    const state = await waitForRunState(page, ['done', 'error']);
    expect(state, state === 'error' ? await text(page, '.error-view') : '').toBe('done');
    expect(await text(page, '#data [data-records] .metric-value')).toBe('5 read − 1 skipped = 4');
    await page.click('[data-action="export-script"]');
    const script = readFileSync(await waitForDownload(downloads, 'train_qlora.py'), 'utf8');
    expect(script).toContain('DATA_FILE = "qa-bad.jsonl"');
    expect(script).toContain('COLUMNS = {"instruction": "question", "output": "answer"}');
    expect(script).toContain('SKIP_INVALID = True');
    expect(script).toMatch(/# The browser skipped 2 row\(s\)[\s\S]*#   line 2: not valid JSON[\s\S]*#   line 4: missing field "answer" \(the output column\)/);
    await page.$eval('#export', (el) => el.scrollIntoView());
    await screenshot(page, 'data-problems-script-with-mapping');
    expect(errors).toEqual([]);
    await page.close();
  });
});
