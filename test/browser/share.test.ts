// Issue 19's two additions, driven through the page in headless Chromium: a preset clicked sets the
// fields and says why (and editing a field un-presses it), and a link's `preset=` sets them too; an adapter pushed to the Hub stand-in (the
// fixture server's write API, test/helpers/hub-write-api.ts) — a bad token refused in words beside the
// button, then the push with progress and a link, the files and card committed, the token not stored;
// pushed again into the same repo with "Remember" ticked, a second commit and the token kept.
// Screenshots: test-output/screenshots/preset-small-gpu.png, hub-push-refused.png, hub-pushed.png.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { hasChromium, useBrowserApp, openPage, screenshot, screenshotOf } from '../helpers/browser';
import { FIXTURES } from '../helpers/golden';

const env = useBrowserApp(() => ({ fixtures: FIXTURES }));
const STEP3 = `${FIXTURES}golden/tiny-llama/qlora/adapter_step3/`;

const value = (page: Page, name: string) => page.$eval(`[name="${name}"]`, (el) => (el as HTMLInputElement).type === 'checkbox' ? String((el as HTMLInputElement).checked) : (el as HTMLInputElement).value);
const setValue = async (page: Page, selector: string, text: string) => {
  await page.$eval(selector, (el) => ((el as HTMLInputElement).value = ''));
  await page.type(selector, text);
};

describe.skipIf(!hasChromium())('presets and sharing in the page', () => {
  it('a preset sets the fields and says why; editing a field makes the settings the person\'s own', async () => {
    const { page, errors } = await openPage(env.browser);
    await page.goto(env.url);
    await page.waitForSelector('[data-preset="small-gpu"]');
    await page.click('[data-preset="small-gpu"]');
    await page.waitForFunction(() => document.querySelector('[data-preset="small-gpu"]')?.getAttribute('aria-pressed') === 'true', { polling: 100, timeout: 10_000 });
    expect(await value(page, 'batchSize')).toBe('1');
    expect(await value(page, 'gradAccum')).toBe('8');
    expect(await value(page, 'loraR')).toBe('8');
    expect(await value(page, 'gradientCheckpointing')).toBe('true');
    expect(await page.$eval('.preset-why', (el) => el.textContent)).toMatch(/^Small-GPU laptop: Memory grows with batch × length/);
    expect(await page.$eval('.derived', (el) => el.textContent)).toContain('Effective batch: 8 examples per update');
    await screenshotOf(page, 'preset-small-gpu', ['#settings .presets', '#settings .group:nth-of-type(2)']);
    // The classifier next: its settings replace the laptop's (rank 8 stays, batch 8, early stopping on).
    await page.click('[data-preset="classifier"]');
    await page.waitForFunction(() => document.querySelector('[data-preset="classifier"]')?.getAttribute('aria-pressed') === 'true', { polling: 100, timeout: 10_000 });
    expect([await value(page, 'batchSize'), await value(page, 'patience'), await value(page, 'gradientCheckpointing')]).toEqual(['8', '3', 'false']);
    await setValue(page, '[name="batchSize"]', '4');
    await page.waitForFunction(() => !document.querySelector('.presets [aria-pressed="true"]'), { polling: 100, timeout: 10_000 });
    expect(await page.$eval('.preset-why', (el) => el.textContent)).toMatch(/^A preset sets the training and LoRA settings/);
    // A link's preset: the recipe first, the link's other settings on top (so no longer the recipe itself).
    await page.goto(`${env.url}?patience=5&preset=classifier`);
    await page.waitForSelector('[data-preset="classifier"]');
    expect([await value(page, 'batchSize'), await value(page, 'maxLength'), await value(page, 'patience')]).toEqual(['8', '256', '5']);
    expect(await page.$$('.presets [aria-pressed="true"]')).toHaveLength(0);
    expect(errors.filter((e) => !/404|Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  });

  it('pushes an imported adapter to the Hub stand-in: a bad token said beside the button, then progress, a link and the files', async () => {
    env.files.hub.tokens = { hf_alice: ['alice'] };
    const { page, errors } = await openPage(env.browser);
    await page.goto(`${env.url}?model=${encodeURIComponent(`${env.files.base}fixtures/tiny-llama/`)}`);
    await page.waitForSelector('input[name="adapter-files"]');
    await (await page.$('input[name="adapter-files"]'))!.uploadFile(`${STEP3}adapter_config.json`, `${STEP3}adapter_model.safetensors`);
    await page.waitForSelector('[data-action="push-to-hub"]:not([disabled])', { timeout: 120_000 });
    await page.$eval('.hub-push details', (el) => ((el as HTMLDetailsElement).open = true));
    await setValue(page, '[name="hub-endpoint"]', env.files.base.replace(/\/$/, ''));
    await page.type('[name="hub-repo"]', 'alice/tiny-llama-lora');
    await page.type('[name="hub-push-token"]', 'hf_typo');
    await page.click('[data-action="push-to-hub"]');
    await page.waitForSelector('[data-hub-error]', { timeout: 60_000 });
    expect(await page.$eval('[data-hub-error]', (el) => (el as HTMLElement).innerText)).toMatch(/^Not pushed: The Hub refused the token \(401 Unauthorized\)/);
    // Said at the button: the page is not in an error state over it.
    expect(await page.evaluate(() => document.body.dataset.runState)).not.toBe('error');
    await screenshotOf(page, 'hub-push-refused', ['#export .hub-push', '.hub-status']);
    expect(env.files.hub.repos.size).toBe(0);

    await setValue(page, '[name="hub-push-token"]', 'hf_alice');
    await page.type('[name="hub-license"]', 'apache-2.0');
    await page.click('[data-action="push-to-hub"]');
    await page.waitForSelector('[data-hub-pushed="alice/tiny-llama-lora"]', { timeout: 60_000 });
    const link = await page.$eval('[data-hub-link]', (el) => (el as HTMLAnchorElement).href);
    expect(link).toBe(`${env.files.base}alice/tiny-llama-lora`);
    expect(await page.$eval('.hub-progress', (el) => (el as HTMLProgressElement).value)).toBe(1);
    await screenshot(page, 'hub-pushed');
    await screenshotOf(page, 'hub-pushed-section', ['#export .hub-push', '.hub-status']);

    const repo = env.files.hub.repos.get('alice/tiny-llama-lora')!;
    expect([...repo.files.keys()].sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    expect(Buffer.compare(repo.files.get('adapter_model.safetensors')!, readFileSync(`${STEP3}adapter_model.safetensors`))).toBe(0);
    const card = repo.files.get('README.md')!.toString('utf8');
    expect(card).toMatch(/^---\nlicense: apache-2.0\nlibrary_name: peft\ntags:\n- lora\n/);
    expect(card).toContain('The base model is not on the Hub: it came from');
    // Not remembered: nothing of the token in the page's storage.
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain('hf_alice');
    // Again into the same repo, with "Remember" ticked: a second commit, and now the token is kept.
    await page.click('[name="hub-remember-token"]');
    await page.click('[data-action="push-to-hub"]');
    await page.waitForFunction(() => document.querySelector('.hub-status')?.textContent?.startsWith('✓ Updated'), { polling: 100, timeout: 60_000 });
    expect(repo.commits.length).toBe(2);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).toContain('hf_alice');
    expect(errors.filter((e) => !/404|Failed to load resource|401/.test(e))).toEqual([]);
    await page.close();
  });
});
