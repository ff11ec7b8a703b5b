// "Try the demo" as a class sees it (issue 12, point 7), in headless Chromium on SwiftShader: the demo
// base (pretrained by scripts/pretrain-demo-base.py) does not know capitals; the demo run teaches it
// eight. Pressed as a person presses it, the run's loss falls clearly and, in the playground, the base
// answers "What is the capital of France?" wrong and the fine-tuned model answers "Paris.", side by side,
// as soon as the run ends.
// The picture of the finished run is test-output/screenshots/demo-run.png (docs/demo-run.png in the README).
import { describe, it, expect } from 'vitest';
import { hasChromium, useBrowserApp, openPage, screenshot, screenshotOf, waitForRunState } from '../helpers/browser';
import { DEMO_PROMPT } from '../../src/ui/model-source';

const env = useBrowserApp();

type LossLog = { step: number; loss: number }[];

describe.skipIf(!hasChromium())('the demo', () => {
  it('learns visibly: the loss falls, the base answers wrong and the fine-tuned model right', async () => {
    const { page, errors } = await openPage(env.browser);
    await page.goto(env.url);
    await page.waitForSelector('[data-action="demo"]');
    await page.evaluate(() => {
      // The loss the Train panel shows at each step, as a person reads it there.
      const log: LossLog = [];
      (window as unknown as { lossLog: LossLog }).lossLog = log;
      new MutationObserver(() => {
        const step = Number(document.body.dataset.step ?? 0);
        const loss = Number(document.querySelector('[data-loss] .metric-value')?.textContent);
        if (step > 0 && Number.isFinite(loss) && log[log.length - 1]?.step !== step) log.push({ step, loss });
      }).observe(document.querySelector('#run')!, { subtree: true, childList: true, characterData: true });
    });

    await page.click('[data-action="demo"]');
    // 16 steps take about 3 minutes on SwiftShader with 2 cores to itself (a laptop GPU: seconds).
    expect(await waitForRunState(page, ['done', 'error'], 600_000)).toBe('done');
    const total = Number(await page.evaluate(() => document.body.dataset.step));
    const log = await page.evaluate(() => (window as unknown as { lossLog: LossLog }).lossLog);
    expect(log[0]?.step).toBe(1);
    expect(log[log.length - 1]?.step).toBe(total);
    const [first, last] = [log[0].loss, log[log.length - 1].loss];
    expect(last, log.map((l) => l.loss).join(' ')).toBeLessThan(0.25 * first);

    // Issue 19, point 7: when the demo ends, the playground answers its question with the base, then
    // the adapter, by itself — no scroll, no click on Generate.
    await page.waitForFunction(() => document.querySelector('#playground [role="status"]')?.textContent === 'Done.', { polling: 250 });
    const answer = (label: string) => page.$eval(`output[aria-label="${label}"]`, (el) => (el.textContent ?? '').trim());
    expect(await page.$eval('textarea[name="prompt"]', (el) => (el as HTMLTextAreaElement).value)).toBe(DEMO_PROMPT);
    const [base, tuned] = [await answer('Base model output'), await answer('Fine-tuned model output')];
    expect(tuned).toBe('Paris.');
    expect(base).not.toMatch(/Paris/);
    expect(base).toMatch(/\S/); // an answer, not nothing: the base has learned to answer questions

    await screenshot(page, 'demo-run-page');
    await screenshotOf(page, 'demo-run', ['#run', '#playground .side-by-side']);
    expect(errors.filter((e) => !/404|Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  }, 900_000);
});
