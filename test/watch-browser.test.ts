// /watch in a real headless Chromium, against two real servers (v1 and v2) behind a proxy that plays the Service:
// the page keeps asking while the proxy moves from v1 to v2, as a rollout moves the Service's endpoints; it must
// show both versions, no failure, no script or CSP error, and count no visit unless asked (?count=1); with no
// backend left, it shows the failures.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { keepScreenshot, openBrowser, screenshotSpread } from '../testing/support/browser.ts';
import { startServer } from '../testing/support/server-process.ts';
import { startSwitchProxy } from '../testing/support/switch-proxy.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

/** The "since the page opened" count of a version (or 'failed'), as the page shows it. */
function totalOf(page: Page, version: string): Promise<number> {
  const row = version === 'failed' ? '#totals #failed-total' : `#totals tr[data-version="${version}"]`;
  return page.locator(`${row} td.n`).textContent({ timeout: 1000 }).then(Number, () => 0);
}

/** Polls from the test (the page's CSP rightly forbids the string evaluation waitForFunction would use). */
async function waitForTotal(page: Page, version: string, atLeast: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await totalOf(page, version)) < atLeast) {
    if (Date.now() > deadline) assert.fail(`the page never showed ${atLeast} answers from ${version}: ${await page.locator('#status').textContent()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function visitsCounted(url: string): Promise<number> {
  return ((await (await fetch(`${url}/visits`)).json()) as { counter: number }).counter;
}

test('/watch shows v1, then v2 after the switch, with no failure and no visit counted', { timeout: 240_000 }, async (t) => {
  const browser = await openBrowser(t);
  if (!browser) return;
  const { context, dir } = browser;
  const common = { SHUTDOWN_DRAIN_MS: '0', POD_NAME: 'rollcall-0' };
  const v1 = await startServer({ ...common, DATA_DIR: await tempDir(), APP_VERSION: 'v1' });
  const v2 = await startServer({ ...common, DATA_DIR: await tempDir(), APP_VERSION: 'v2' });
  const proxy = await startSwitchProxy(v1.url);

  const page = await context.newPage();
  const problems: string[] = [];
  // Chromium aborts requests in flight when the machine's network interfaces change (ERR_NETWORK_CHANGED: here,
  // other jobs creating container networks). Such a request fails in the page like any other, so each one seen
  // excuses at most one failure; any failure beyond them fails the test.
  let networkChanges = 0;
  page.on('console', (message) => {
    if (message.text().includes('net::ERR_NETWORK_CHANGED')) networkChanges++;
    else if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const outside: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(proxy.url)) outside.push(request.url());
  });

  // A long answer timeout: on a loaded machine a slow answer is not a failure of the Service (the page's default
  // is 2 s, where a person watching wants to see a stuck request).
  await page.goto(`${proxy.url}/watch?rate=20&timeout=15000`);
  await waitForTotal(page, 'v1', 15);
  proxy.switchTo(v2.url);
  await waitForTotal(page, 'v2', 25);

  assert.ok((await totalOf(page, 'v1')) >= 15);
  const failed = await totalOf(page, 'failed');
  const why = failed ? await page.locator('#squares rect.failed title').allTextContents() : [];
  assert.ok(failed <= networkChanges, `no failed answer (${failed} failed, ${networkChanges} network changes: ${why.join('; ')})`);
  assert.ok((await page.locator('#squares rect.failed').count()) <= networkChanges);
  if (networkChanges) t.diagnostic(`Chromium saw ${networkChanges} network changes (ERR_NETWORK_CHANGED); as many failures were excused`);
  const fills = await page.locator('#squares rect.ok').evaluateAll((rects) => [...new Set(rects.map((rect) => rect.getAttribute('fill')))]);
  assert.equal(fills.length, 2, `the squares show both versions in two colours (${fills.join(', ')})`);
  assert.equal(await page.locator('#share tr[data-version="v2"]').count(), 1, 'v2 answers in the last seconds');
  assert.equal(await page.locator('#pods tr[data-pod="rollcall-0"][data-version="v2"]').count(), 1);
  assert.match((await page.locator('#status').textContent()) ?? '', new RegExp(`GET /visits \\(counting nothing\\) 20 times a second: \\d+ answers, ${failed} failed`));
  assert.deepEqual(outside, [], 'the page asks only its own origin');
  assert.deepEqual(problems, [], 'no script error and no CSP violation');
  assert.deepEqual(proxy.errors, []);
  assert.ok((proxy.forwarded.get(v2.url) ?? 0) >= 25);
  assert.equal(await visitsCounted(v1.url), 0, 'watching counts no visit on v1');
  assert.equal(await visitsCounted(v2.url), 0, 'watching counts no visit on v2');

  const shot = path.join(dir, 'watch.png');
  await page.locator('body').screenshot({ path: shot });
  await keepScreenshot(shot);
  const { width, height, spread } = await screenshotSpread(context, shot);
  assert.ok(width >= 700 && height > 300, `screenshot ${width}×${height}`);
  assert.ok(spread > 20, `screenshot is not blank (luminance spread ${spread.toFixed(1)})`);

  // Asked to, it counts: each answer is a visit on the server that gave it.
  await page.goto(`${proxy.url}/watch?count=1&rate=20&timeout=15000`);
  await waitForTotal(page, 'v2', 10);
  assert.ok((await visitsCounted(v2.url)) >= 10, 'with ?count=1 every request counts a visit');
  assert.deepEqual(problems, []);

  // A Service with no live endpoint: the answers turn into failures, drawn in red and counted as such.
  await page.goto(`${proxy.url}/watch?rate=20&timeout=15000`);
  await waitForTotal(page, 'v2', 5);
  v1.child.kill('SIGKILL');
  await v1.exited;
  proxy.switchTo(v1.url);
  await waitForTotal(page, 'failed', 5);
  assert.ok((await page.locator('#squares rect.failed').count()) >= 5);
  assert.equal(await page.locator('#share tr.failed').count(), 1, 'failures in the share of the last seconds');
  assert.match((await page.locator('#squares rect.failed title').first().textContent()) ?? '', /failed: HTTP 502/);
  await page.close();
});
