// The terminal table and the progress line as a person reads them: durations in cluster time (the time scale undone),
// wording that means the same for a good and a bad release, 120 columns at most, and progress that says where the
// comparison is and about how long is left.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderReport } from '../rehearsal/report/html.ts';
import { formatDuration, progressLine } from '../rehearsal/report/progress.ts';
import { clusterTime, formatTable, MAX_WIDTH } from '../rehearsal/report/table.ts';
import type { RunResult } from '../rehearsal/result.ts';
import { fixtureReport } from '../testing/support/report-fixture.ts';

const rowOf = (table: string, overlay: string, scenario: string) => table.split('\n').find((line) => line.startsWith(`${overlay} `) && line.includes(` ${scenario} `));

describe('the terminal table', () => {
  test('shows durations in cluster time: measured ms divided by the time scale, and says so', () => {
    assert.equal(clusterTime(3000, 0.05), '60 s');
    assert.equal(clusterTime(210, 0.05), '4.2 s');
    assert.equal(clusterTime(60_000, 0.05), '20 min');
    const report = fixtureReport();
    const run = report.runs.find((r) => r.figures.detection)!;
    const table = formatTable(report);
    assert.ok(rowOf(table, run.overlay, run.scenario)!.includes(`${run.figures.detection!.rule} ${clusterTime(run.figures.detection!.afterMs, report.timeScale)}`));
    assert.match(table, new RegExp(`Times are cluster time: what the rehearsal measured ÷ its time scale ${report.timeScale}`));
    assert.match(table, /Pod start-up ran at real speed and is scaled up/);
  });

  test('says the same thing for a good and a bad release: pods updated to v2, and whether the release was judged bad', () => {
    const report = fixtureReport();
    const good = report.runs.find((r) => r.scenario === 'good')!;
    const stalled = report.runs.find((r) => r.figures.stoppedByItself)!;
    const table = formatTable(report);
    assert.match(rowOf(table, good.overlay, 'good')!, new RegExp(` ${good.figures.podsUpdated} of 3 +no +- `));
    assert.match(rowOf(table, stalled.overlay, stalled.scenario)!, new RegExp(` ${stalled.figures.podsUpdated} of 3, stalled +${stalled.figures.detection!.rule} `));
    assert.doesNotMatch(table, /stopped itself: no|no \(\d+ updated\)/);
  });

  test('fits 120 columns with the longest overlay names, long figures and the Argo CD columns', () => {
    const report = fixtureReport();
    const runs: RunResult[] = report.runs.map((run, i) => ({
      ...run,
      overlay: ['canary-analysis', 'blue-green', 'parallel', 'recreate'][i % 4]!,
      settings: { ...run.settings, replicas: 12 },
      figures: {
        ...run.figures,
        downtimeMs: 99_999,
        podsUpdated: 12,
        stoppedByItself: true,
        detection: { rule: 'crash-loop', reason: 'x', afterMs: 59_999 },
        revertToRecoveredMs: 99_999,
        manualSteps: ['kubectl delete pod rollcall-2', 'kubectl delete pod rollcall-1'],
        twoVersionsServingMs: 99_999,
        lost: 0,
        duplicated: 0,
        sync: { phase: 'Failed', message: 'x', startedMs: 0, endedMs: 99_999, attempts: 3, revertPushedMs: 1, revertSyncStartedMs: 99_999, hang: false, refreshSeconds: 120 },
      },
    }));
    runs[0]!.figures.sync!.hang = true;
    const table = formatTable({ runs, timeScale: 0.05 });
    for (const line of table.split('\n')) assert.ok(line.length <= MAX_WIDTH, `${line.length} columns: ${line}`);
    assert.match(table, /Argo CD sync/);
    assert.doesNotMatch(table, /kubectl delete pod/, 'the commands are details for --json and --html');
  });
});

describe('the HTML report table', () => {
  test('uses the same wording (pods updated to v2, stalled) and says its times are real time, and how to scale them', () => {
    const report = fixtureReport();
    const html = renderReport(report);
    const rows = html.split('<tr data-run=').slice(1);
    report.runs.forEach((run, i) => {
      const cell = `<td>${run.figures.podsUpdated} of 3${run.figures.stoppedByItself ? ', <span class="bad">stalled</span>' : ''}</td>`;
      assert.ok(rows[i]!.includes(cell), `${run.overlay} × ${run.scenario}: ${cell}`);
    });
    assert.match(html, new RegExp(`Every time in this report is the rehearsal's own \\(real\\) time: divide by ${report.timeScale}`));
  });
});

describe('the progress line', () => {
  const point = { overlay: 'recreate', overlayIndex: 2, overlays: 6, scenario: 'crash', scenarioIndex: 1, scenarios: 5, phase: 'revert to v1', elapsedMs: 121_000 };

  test('names overlay k of n, the scenario, the phase, the elapsed time and about how long is left', () => {
    // 11 of 30 runs done in 121 s: 11 s a run, 19 left.
    assert.equal(progressLine(point), 'overlay 3 of 6 recreate · crash (scenario 2 of 5) · revert to v1 · 2 min 01 s elapsed · about 3 min 29 s left');
    // The last run ended at 110 s: 10 s a run, 300 s in all, 179 s left at 121 s.
    assert.match(progressLine({ ...point, finishedAtMs: 110_000 }), / · about 2 min 59 s left$/);
  });

  test('gives no estimate before a run has finished, and says the launch is the launch', () => {
    assert.equal(
      progressLine({ ...point, overlayIndex: 0, scenario: 'launch', scenarioIndex: 0, phase: 'launch v1', elapsedMs: 4000 }),
      'overlay 1 of 6 recreate · starting v1 · launch v1 · 4 s elapsed · time left known after the first run',
    );
  });

  test('durations as a person says them', () => {
    assert.deepEqual([formatDuration(400), formatDuration(59_600), formatDuration(61_000), formatDuration(3_725_000)], ['0 s', '1 min 00 s', '1 min 01 s', '1 h 02 min']);
  });
});
