// Damaged and foreign files picked in the page (issue 20): a zip with one flipped byte is refused by its
// CRC-32 once the engine worker has inflated it (the import path a person uses), and a Latin-1 dataset is
// refused naming its encoding, not read as garbage. Neither needs a model, so this stays quick.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasChromium, useBrowserApp, openPage } from '../helpers/browser';
import { makeZip } from '../../src/export/zip';
import { writeSafetensors } from '../../src/formats/safetensors';

const env = useBrowserApp();

const errorText = async (page: import('puppeteer-core').Page, needle: string) => {
  await page.waitForFunction((n: string) => (document.querySelector('.error-view') as HTMLElement | null)?.innerText.includes(n), { timeout: 60_000, polling: 200 }, needle);
  return page.$eval('.error-view', (el) => (el as HTMLElement).innerText);
};

describe.skipIf(!hasChromium())('damaged and foreign files in the page', () => {
  it('a flipped byte in an adapter zip and a Latin-1 dataset are refused, each named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qlora-files-'));
    const weights = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [64], data: new Uint8Array(new Float32Array(64).fill(-0.0545).buffer) }]);
    const zip = makeZip({ 'my-adapter/adapter_config.json': new TextEncoder().encode('{"r": 2}'), 'my-adapter/adapter_model.safetensors': weights });
    // The exponent byte of the fifth weight, in the stored (uncompressed) weights: -0.0545 would read as ~-1e37.
    const weight = new Uint8Array(new Float32Array([-0.0545]).buffer);
    const at = zip.findIndex((_, i) => weight.every((b, k) => zip[i + k] === b));
    expect(at).toBeGreaterThan(0);
    zip[at + 4 * 4 + 3] ^= 0x3e;
    writeFileSync(join(dir, 'broken.zip'), zip);
    writeFileSync(join(dir, 'latin.jsonl'), Uint8Array.from('{"instruction":"caf\u00e9","output":"ok"}\n', (c) => c.charCodeAt(0)));

    const { page, errors } = await openPage(env.browser);
    await page.goto(env.url);
    await page.waitForSelector('input[name="adapter-files"]');
    await (await page.$('input[name="adapter-files"]'))!.uploadFile(join(dir, 'broken.zip'));
    const zipError = await errorText(page, 'CRC-32');
    expect(zipError).toContain('"my-adapter/adapter_model.safetensors" in broken.zip is damaged');
    expect(zipError).not.toMatch(/Storage panel/);

    await (await page.$('input[name="data-file"]'))!.uploadFile(join(dir, 'latin.jsonl'));
    const dataError = await errorText(page, 'Latin-1');
    expect(dataError).toContain('latin.jsonl is not UTF-8 text');
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  });
});
