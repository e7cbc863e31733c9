// A real headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core (which never
// downloads a browser here), a fresh empty profile in the test's temp dir, no background network. Without
// Chromium the test skips with the reason; under CI=true that is a failure, as the browser is part of the contract.
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, type TestContext } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH): browser test not run`;
  }
}

/** A browser context with its own empty profile, closed after the test; undefined (test skipped) without Chromium. */
export async function openBrowser(t: TestContext): Promise<{ context: BrowserContext; dir: string } | undefined> {
  const missing = chromiumMissing();
  if (missing) {
    if (process.env['CI'] === 'true') assert.fail(`CI=true: ${missing}`);
    t.skip(missing);
    return undefined;
  }
  // Not tempDir(): its after() hook would run before the browser is closed, and removing a profile Chromium is still
  // writing fails with ENOTEMPTY. Close first, then remove.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rollcall-browser-'));
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1150, height: 900 },
  });
  after(async () => {
    await context.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });
  return { context, dir };
}

/** The screenshot's size and the standard deviation of its luminance (0 for a blank, one-colour image). The PNG is
 * decoded by the browser itself (an <img> drawn on a canvas in a blank page), so no PNG decoder is needed here. */
export async function screenshotSpread(context: BrowserContext, file: string): Promise<{ width: number; height: number; spread: number }> {
  const png = await readFile(file);
  const page = await context.newPage();
  try {
    // A string, not a function: the project's TypeScript has no DOM types, and this runs in the page.
    return (await page.evaluate(`(async (src) => {
      const image = new Image();
      image.src = src;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const g = canvas.getContext('2d');
      g.drawImage(image, 0, 0);
      const { data } = g.getImageData(0, 0, canvas.width, canvas.height);
      let sum = 0;
      let squares = 0;
      for (let i = 0; i < data.length; i += 4) {
        const l = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
        sum += l;
        squares += l * l;
      }
      const n = data.length / 4;
      return { width: canvas.width, height: canvas.height, spread: Math.sqrt(Math.max(squares / n - (sum / n) ** 2, 0)) };
    })(${JSON.stringify(`data:image/png;base64,${png.toString('base64')}`)})`)) as { width: number; height: number; spread: number };
  } finally {
    await page.close();
  }
}

/** Screenshots stay in the test's temp dir (removed after the test); with SCREENSHOT_DIR set they are also copied
 * there, e.g. to refresh the README's pictures: SCREENSHOT_DIR=docs/img node --test test/*-browser.test.ts */
export async function keepScreenshot(file: string): Promise<void> {
  const dir = process.env['SCREENSHOT_DIR'];
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await copyFile(file, path.join(dir, path.basename(file)));
}
