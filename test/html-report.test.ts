// rehearsal/report/html.ts as text: self-contained (no script, no external reference), everything from the data
// escaped, one lane per pod and the failures of the JSON in every run. test/html-report-browser.test.ts opens it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { renderReport, writeHtmlReport } from '../rehearsal/report/html.ts';
import { versionColours } from '../rehearsal/report/palette.ts';
import { fixtureReport } from '../testing/support/report-fixture.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

const failedIn = (html: string) => [...html.matchAll(/data-failed="(\d+)"/g)].reduce((n, m) => n + Number(m[1]), 0);

describe('the HTML report', () => {
  test('has no script, no external resource and no network reference', () => {
    const html = renderReport(fixtureReport());
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /\b(src|href)="(?!#)/, 'only in-page links');
    assert.doesNotMatch(html, /url\((?!#)/, 'only in-page url() references');
    assert.doesNotMatch(html, /@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    assert.doesNotMatch(html, /NaN|Infinity|undefined|\[object/);
  });

  test('escapes names, labels, settings and versions that come from the data', () => {
    const report = fixtureReport();
    const run = report.runs[0]!;
    run.overlay = '<img src=x onerror=alert(1)>';
    run.settings = { '"key': '</td><script>x</script>' };
    run.timeline.pods[0]!.name = 'pod"><b>';
    run.timeline.pods[0]!.spans[0]!.version = '<v>';
    run.timeline.markers[0]!.label = 'a & b <i>';
    const html = renderReport(report);
    assert.doesNotMatch(html, /<img|<script|<b>|<v>|<i>/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(html, /&quot;key: <code>&lt;\/td&gt;&lt;script&gt;x&lt;\/script&gt;<\/code>/);
    assert.match(html, /data-pod="pod&quot;&gt;&lt;b&gt;"/);
    assert.match(html, /a &amp; b &lt;i&gt;/);
  });

  test('draws one lane per pod and every failed request of each run', () => {
    const report = fixtureReport();
    const html = renderReport(report);
    const sections = html.split('<section class="run"').slice(1);
    assert.equal(sections.length, report.runs.length);
    report.runs.forEach((run, i) => {
      const section = sections[i]!;
      const lanes = [...section.matchAll(/<g class="lane" data-pod="([^"]*)"/g)].map((m) => m[1]);
      assert.deepEqual(lanes, run.timeline.pods.map((pod) => pod.name), run.overlay);
      const failed = run.timeline.traffic.reduce((n, slot) => n + Object.values(slot.failed).reduce((a, b) => a + b, 0), 0);
      assert.equal(failedIn(section), failed, run.overlay);
      assert.equal(section.match(/<g class="marker /g)?.length ?? 0, run.timeline.markers.length, run.overlay);
    });
    // The fixture is meant to show failures: a test whose sum is 0 everywhere would prove nothing.
    assert.ok(failedIn(html) > 0);
  });

  test('renders a report without runs, and a run without pods, traffic or markers, without failing', () => {
    const report = fixtureReport();
    assert.match(renderReport({ ...report, runs: [] }), /<tbody>\n\n<\/tbody>/);
    const run = report.runs[0]!;
    run.timeline = { slotMs: 100, endMs: 0, pods: [], traffic: [], markers: [] };
    const html = renderReport({ ...report, runs: [run] });
    assert.match(html, /0 pods, 0.0\u00a0s; requests in this timeline: <span class="requests">0<\/span>/);
    assert.match(html, /<p>No markers.<\/p>/);
    assert.doesNotMatch(html, /NaN|Infinity|undefined/);
  });

  test('says which failures reached no pod', () => {
    const report = fixtureReport();
    const html = renderReport({ ...report, runs: [report.runs[1]!] });
    assert.match(html, /<title>5.0\u00a0s: 12 failed \(no pod reached: 12\)<\/title>/);
  });

  test('shows the load, the detection rules, and per run the rule that judged the release bad and when', () => {
    const report = fixtureReport();
    const html = renderReport(report);
    assert.match(html, /Load: 200 requests per second in total from 8 concurrent clients, paced\./);
    assert.ok(html.includes(`<span class="detection-rules">${report.detectionRules.replace("'", '&#39;')}</span>`), 'the detection rules');
    const rows = html.split('<tr data-run=').slice(1);
    const sections = html.split('<section class="run"').slice(1);
    report.runs.forEach((run, i) => {
      const detection = run.figures.detection;
      if (detection) {
        assert.match(rows[i]!, new RegExp(`<td class="detection"><span class="bad">${detection.rule}</span> after ${(detection.afterMs / 1000).toFixed(1)}\u00a0s<br>`), run.overlay);
        assert.match(sections[i]!, new RegExp(`rule <strong class="detection-rule">${detection.rule}</strong> ${(detection.afterMs / 1000).toFixed(1)}\u00a0s after the rollout start`), run.overlay);
      } else {
        assert.match(rows[i]!, /<td class="detection">no, judged good<\/td>/, run.overlay);
        assert.match(sections[i]!, /The release was judged good\./, run.overlay);
      }
    });
    assert.deepEqual(report.runs.map((run) => run.figures.detection?.rule ?? null), ['stalled', 'crash-loop', 'failing', null]);
    // An Argo Rollouts analysis verdict (figures.detectMs) shows next to the release watch's.
    report.runs[2]!.figures.detectMs = 3600;
    assert.match(renderReport(report), /<br>analysis failed after 3\.6\u00a0s<\/td>/);
  });

  test('labels every marker kind of a real run in words', () => {
    const html = renderReport(fixtureReport());
    const kinds = new Set([...html.matchAll(/<li value="\d+" data-kind="([^"]+)"><strong>[^<]+<\/strong> ([^:]+):/g)].map((m) => `${m[1]} → ${m[2]}`));
    for (const expected of ['rollout-start → rollout start', 'pod-replaced → pod replaced', 'stalled → stalled', 'detected → detected', 'sync → delivery', 'revert → revert', 'manual-step → manual step', 'done → done']) {
      assert.ok(kinds.has(expected), `${expected} in ${[...kinds].join(', ')}`);
    }
  });

  test('gives each version one colour in every run, v1 first', () => {
    const colours = versionColours(['v2', 'v10', 'v1', 'v2']);
    assert.deepEqual([...colours.keys()], ['v1', 'v2', 'v10']);
    assert.equal(new Set(colours.values()).size, 3);
  });

  test('writeHtmlReport writes the rendered report to the file', async () => {
    const file = path.join(await tempDir(), 'report.html');
    await writeHtmlReport(fixtureReport(), file);
    assert.equal(await readFile(file, 'utf8'), renderReport(fixtureReport()));
  });
});
