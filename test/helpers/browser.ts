// Headless Chromium (the system's, through puppeteer-core) with WebGPU on SwiftShader, and the app served
// by Vite on 127.0.0.1 (a secure context, so WebGPU and IndexedDB work, in the worker too). Downloads are
// captured into a folder; screenshots go to test-output/ where the test results go.
import { mkdirSync, mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'vite';
import type { ViteDevServer } from 'vite';
import { beforeAll, afterAll } from 'vitest';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { startFileServer } from './file-server';
import type { FileServer } from './file-server';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = new URL('../../test-output/screenshots/', import.meta.url).pathname;

export const hasChromium = () => existsSync(CHROMIUM);

export async function startApp(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    configFile: new URL('../../vite.config.ts', import.meta.url).pathname,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    logLevel: 'error',
  });
  await server.listen();
  const addr = server.httpServer!.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { server, url: `http://127.0.0.1:${port}/` };
}

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: mkdtempSync(join(tmpdir(), 'qlora-chromium-')),
    args: [
      '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--no-sandbox', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--window-size=1280,1600',
    ],
    defaultViewport: { width: 1280, height: 1600 },
    protocolTimeout: 600_000,
  });
}

/** A page whose downloads land in a fresh folder; page errors are collected for the assertions. */
export async function openPage(browser: Browser): Promise<{ page: Page; downloads: string; errors: string[] }> {
  const page = await browser.newPage();
  const downloads = mkdtempSync(join(tmpdir(), 'qlora-downloads-'));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.setDefaultTimeout(300_000);
  return { page, downloads, errors };
}

export async function waitForRunState(page: Page, states: string[], timeout = 300_000): Promise<string> {
  await page.waitForFunction((s: string[]) => s.includes(document.body.dataset.runState ?? ''), { timeout, polling: 250 }, states);
  return page.evaluate(() => document.body.dataset.runState ?? '');
}

/** `name`: the file's name, or a pattern for names made from the run (`/-adapter\.zip$/`). */
export async function waitForDownload(dir: string, name: string | RegExp, timeout = 60_000): Promise<string> {
  const start = Date.now();
  while (Date.now() - start < timeout) {
    const files = readdirSync(dir);
    const found = files.find((f) => (typeof name === 'string' ? f === name : name.test(f)));
    if (found && !files.some((f) => f.endsWith('.crdownload'))) return join(dir, found);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no download ${name} in ${dir} after ${timeout} ms (have: ${readdirSync(dir).join(', ')})`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** A screenshot of the page region the given elements cover (for a picture of one part of the page, as in the README). */
export async function screenshotOf(page: Page, name: string, selectors: string[]): Promise<string> {
  const rects = await page.evaluate((sels: string[]) => sels.map((s) => {
    const r = document.querySelector(s)!.getBoundingClientRect();
    return { top: r.top + scrollY, left: r.left + scrollX, bottom: r.bottom + scrollY, right: r.right + scrollX };
  }), selectors);
  const x = Math.min(...rects.map((r) => r.left)), y = Math.min(...rects.map((r) => r.top));
  const clip = { x, y, width: Math.max(...rects.map((r) => r.right)) - x, height: Math.max(...rects.map((r) => r.bottom)) - y };
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, clip, captureBeyondViewport: true });
  return path;
}

/** What a browser test file shares: the app's URL, the browser, and (when asked for) the fixture server. */
export interface BrowserTestEnv {
  url: string;
  browser: Browser;
  files: FileServer;
}

/**
 * Starts, before a test file's tests, the app (Vite) and headless Chromium — and a file server for the
 * folders `serve` returns, after whatever preparation it does — and closes them after. Nothing starts
 * where Chromium is absent (the tests skip there).
 */
export function useBrowserApp(serve?: () => Record<string, string> | Promise<Record<string, string>>): BrowserTestEnv {
  const env = {} as BrowserTestEnv;
  let server: ViteDevServer | undefined;
  beforeAll(async () => {
    if (!hasChromium()) return;
    if (serve) env.files = await startFileServer(await serve());
    const app = await startApp();
    server = app.server;
    env.url = app.url;
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    await server?.close();
    await env.files?.close();
  });
  return env;
}
