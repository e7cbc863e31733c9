// The HTML report of a small real rehearsal (recreate and rolling × the `crash` release, real server processes at
// time scale 0.1: the shared one, testing/support/shared-rehearsal.ts) in a real headless Chromium: it loads from a
// file with no request leaving the page, every run's timeline has one lane per pod, the failures drawn add up to the
// JSON's, the verdict and the load are shown, it prints as A4, and a screenshot (kept in the test's temp dir) is not
// blank. The fixture-based checks are in test/html-report.test.ts.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { writeHtmlReport } from '../rehearsal/report/html.ts';
import { keepScreenshot, openBrowser, screenshotSpread } from '../testing/support/browser.ts';
import { requireRenderer } from '../testing/support/renderer.ts';
import { sharedReport, sharedRun } from '../testing/support/shared-rehearsal.ts';

const failedIn = (slots: { failed: Record<string, number> }[]) => slots.reduce((n, slot) => n + Object.values(slot.failed).reduce((a, b) => a + b, 0), 0);

test('the report of a real rehearsal shows a lane per pod and the JSON failures, offline, and prints on A4', { timeout: 600_000 }, async (t) => {
  if (!requireRenderer(t)) return;
  const browser = await openBrowser(t);
  if (!browser) return;
  const { context, dir } = browser;
  // recreate takes every pod down at once (failures), rolling stalls on the first pod (none, a manual step): two
  // different pictures, from the shared real rehearsal (`rollcall compare`'s own code, as test/compare.test.ts reads).
  const started = performance.now();
  const recreate = await sharedReport('recreate');
  const report = { ...recreate, runs: [await sharedRun('recreate', 'crash'), await sharedRun('rolling', 'crash')] };
  t.diagnostic(`rehearsal: ${((performance.now() - started) / 1000).toFixed(1)} s (0 when shared)`);
  assert.deepEqual(report.runs.map((run) => `${run.overlay} × ${run.scenario}`), ['recreate × crash', 'rolling × crash']);
  // Whatever the report, a label with markup must show as text and never run (in the run not kept as a screenshot).
  report.runs[0]!.timeline.markers.push({ atMs: 0, kind: 'manual-step', label: '<img src=x onerror=alert(1)><script>alert(2)</script>' });
  const file = path.join(dir, 'report.html');
  await writeHtmlReport(report, file);

  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  const url = pathToFileURL(file).href;
  await page.goto(url);

  assert.deepEqual(requests, [url], 'the page loads nothing but itself');
  assert.equal(await page.locator('script').count(), 0);
  assert.deepEqual(dialogs, [], 'data in the report never runs as script');
  assert.equal(await page.locator('table.comparison tbody tr').count(), report.runs.length);
  assert.equal(await page.locator('.detection-rules').textContent(), report.detectionRules);
  assert.match((await page.locator('body').textContent()) ?? '', new RegExp(`Load: ${report.rate} requests per second in total from ${report.connections} concurrent clients`));

  const sections = page.locator('section.run');
  assert.equal(await sections.count(), report.runs.length);
  for (const [i, run] of report.runs.entries()) {
    const name = `${run.overlay} × ${run.scenario}`;
    const section = sections.nth(i);
    const lanes = section.locator('g.lane');
    const names = await lanes.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-pod')));
    assert.deepEqual(names, ['rollcall-0', 'rollcall-1', 'rollcall-2'], `${name}: one lane per pod`);
    assert.deepEqual(names, run.timeline.pods.map((pod) => pod.name), `${name}: the JSON's pods`);
    for (let lane = 0; lane < names.length; lane++) {
      const box = await lanes.nth(lane).boundingBox();
      assert.ok(box && box.width > 500 && box.height > 10, `${name}: lane ${names[lane]} is drawn (${JSON.stringify(box)})`);
    }
    const drawn = await section.locator('rect.failed').evaluateAll((nodes) => nodes.reduce((n, node) => n + Number(node.getAttribute('data-failed')), 0));
    const expected = failedIn(run.timeline.traffic);
    assert.equal(drawn, expected, `${name}: failed requests drawn`);
    assert.equal(Number(await section.locator('.failed-count').textContent()), expected, `${name}: failed requests written`);
    assert.equal(await section.locator('ol.markers li').count(), run.timeline.markers.length);
    assert.equal(await section.locator('.detection-rule').textContent(), run.figures.detection?.rule, `${name}: the rule that judged the release bad`);
    assert.match((await section.locator('svg.timeline > title').textContent()) ?? '', new RegExp(name.replace(' × ', ' · ')));
  }
  // The real run must have shown something to count: recreate's outage fails requests, rolling's stall fails none.
  assert.ok(failedIn(report.runs[0]!.timeline.traffic) > 0, 'recreate × crash: failures to draw');
  assert.match((await sections.nth(0).locator('ol.markers').textContent()) ?? '', /<img src=x onerror=alert\(1\)><script>alert\(2\)<\/script>/, 'a label with markup shows as text');
  assert.equal(await page.locator('section.run img').count(), 0);

  const shot = path.join(dir, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  const { width, height, spread } = await screenshotSpread(context, shot);
  assert.ok(width >= 1000 && height > 1000, `screenshot ${width}×${height}`);
  assert.ok(spread > 20, `screenshot is not blank (luminance spread ${spread.toFixed(1)})`);
  // One run's section, small enough for the README: rolling × crash, the stall and the forced rollback.
  const timeline = path.join(dir, 'report-timeline.png');
  await page.setViewportSize({ width: 980, height: 900 });
  await sections.nth(1).screenshot({ path: timeline });
  await keepScreenshot(timeline);
  assert.ok((await screenshotSpread(context, timeline)).spread > 20, 'the timeline screenshot is not blank');

  // An A4 page less 12 mm margins each side is 186 mm = 703 CSS px wide: in print, nothing may stick out of it.
  await page.emulateMedia({ media: 'print' });
  await page.setViewportSize({ width: 703, height: 1000 });
  const [scrollWidth, clientWidth] = await page.locator('html').evaluate((html) => [html.scrollWidth, html.clientWidth]);
  assert.ok(scrollWidth! <= clientWidth!, `printed, the report fits the A4 width (${scrollWidth} > ${clientWidth} px)`);
  const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
  const mediaBoxes = [...pdf.toString('latin1').matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)];
  assert.ok(mediaBoxes.length >= 2, `printed on ${mediaBoxes.length} pages`);
  for (const [, w, h] of mediaBoxes) assert.ok(Math.abs(Number(w) - 595.3) < 1 && Math.abs(Number(h) - 841.9) < 1, `A4 page, got ${w}×${h} pt`);
});
