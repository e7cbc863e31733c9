// `rollcall compare --cluster local --delivery argocd` as a user runs it: the command starts its own control plane,
// node agent and the real Argo CD (with the Argo Rollouts analysis controller), every release and revert is a commit
// Argo CD syncs with the bundle's sync policy and hooks, and the report's Argo CD figures are the real operation's,
// read back through the API. An `errors` release on `rolling`: Ready, so the smoke hook passes and its sync Succeeds
// in one attempt; the watch judges it bad from the clients' failures, and the revert's commit syncs within seconds
// of its push (a refresh request, as a webhook). A crash release would hold the revert for three whole hook
// deadlines (about 16 min at the bundle's timings): testing/cluster/argocd.ts and `npm run argocd:matrix` show that.
// Not named *.test.ts: `npm test` must not start a cluster; `npm run test:argocd` runs it. Needs what the Argo CD
// suite needs: a skip with the reason where something is missing, a failure under CI=true.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { argocdStackUnavailable } from '../../cluster/argocd/stack.ts';
import { argocdReportedVersion } from '../../cluster/argocd/build.ts';
import { goModText } from '../../cluster/go-build.ts';
import type { ComparisonReport } from '../../rehearsal/result.ts';

const root = path.resolve(import.meta.dirname, '../..');
const reason = argocdStackUnavailable();
if (reason && process.env['CI'] === 'true') {
  test('compare --cluster local --delivery argocd can run here (CI=true)', () => assert.fail(reason));
}

function rollcall(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts/rollcall.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      for (const line of d.split('\n')) if (/Argo CD|cluster:|rolling/.test(line)) console.log(`# ${line.trim()}`);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('compare --cluster local --delivery argocd: rolling × errors synced by the real Argo CD, its operation in the report', { skip: reason ?? false, timeout: 1_800_000 }, async () => {
  const r = await rollcall(['compare', '--cluster', 'local', '--delivery', 'argocd', '--overlay', 'rolling', '--scenario', 'errors', '--json']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const report = JSON.parse(r.stdout) as ComparisonReport;
  assert.equal(report.cluster.kind, 'real');
  assert.match(report.cluster.description, new RegExp(`Argo CD ${argocdReportedVersion(goModText()).replace(/[.+]/g, '\\$&')}`));
  const [run] = report.runs;
  assert.ok(run, 'one run');
  const f = run.figures;
  console.log(`# rolling × errors through the real Argo CD: ${JSON.stringify({ sync: f.sync, detection: f.detection, revertToRecoveredMs: f.revertToRecoveredMs, manual: f.manualSteps, during: f.during, lost: f.lost })}`);
  assert.match(String(run.settings['delivery']), /Argo CD \(real\)/);
  assert.ok(f.sync, 'the real operation is reported');
  assert.equal(f.sync.phase, 'Succeeded', f.sync.message);
  assert.equal(f.sync.attempts, 1);
  assert.equal(f.sync.hang, false);
  assert.ok(f.detection, 'the failing release was judged bad');
  assert.ok(f.sync.revertPushedMs !== null && f.sync.revertSyncStartedMs !== null, 'the revert synced');
  assert.ok(f.sync.revertSyncStartedMs - f.sync.revertPushedMs < 60_000, `the revert synced ${f.sync.revertSyncStartedMs - f.sync.revertPushedMs} ms after its push (a refresh request)`);
  assert.notEqual(f.revertToRecoveredMs, null, 'every pod back on v1 and Ready');
  assert.deepEqual(f.manualSteps, [], 'an errors release is Ready: the controller rolls it back by itself');
  assert.equal(f.lost, 0);
  assert.equal(f.duplicated, 0);
  assert.ok(run.timeline.markers.some((m) => m.kind === 'sync' && /operation Succeeded/.test(m.label)), 'the operation\'s phases are on the timeline');
});
