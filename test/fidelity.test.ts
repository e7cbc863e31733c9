// The fidelity table (rehearsal/fidelity.ts): the same runs on the model and on a real cluster, side by side. Built
// here from the report fixture and a copy of it changed the way a real cluster differed (another pod order, a manual
// step the model did not take), so each difference is shown to be caught and named. The published table
// (docs/fidelity.md, README) is checked against the recorded report it was written from.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fidelity, fidelityMarkdown, replacedInOrder, side, type FidelityReport } from '../rehearsal/fidelity.ts';
import { POD_START_LATENCY_MS } from '../rehearsal/model/pod-start.ts';
import { summaryBlock } from '../scripts/fidelity.ts';
import { fixtureReport } from '../testing/support/report-fixture.ts';

const root = path.resolve(import.meta.dirname, '..');

test('one side: times in cluster time, replaced pods in order before the revert, the verdict', () => {
  const report = fixtureReport();
  const parallel = side(report.runs.find((r) => r.overlay === 'parallel')!, report.timeScale);
  assert.deepEqual(parallel.replaced, ['rollcall-2', 'rollcall-1', 'rollcall-0']);
  assert.equal(parallel.detection, null);
  assert.ok(parallel.rolloutS !== null && parallel.rolloutS > 0);
  const rolling = side(report.runs.find((r) => r.overlay === 'rolling')!, report.timeScale);
  assert.equal(rolling.detection?.rule, 'stalled');
  assert.equal(rolling.rolloutS, null, 'a bad release has no rollout time');
  assert.deepEqual(rolling.manualSteps, ['kubectl delete pod rollcall-2']);
  const run = report.runs.find((r) => r.overlay === 'rolling')!;
  assert.equal(rolling.launchS, Math.round(run.figures.launchToAllReadyMs / report.timeScale / 100) / 10);
});

test('pods replaced together (the recreate hook) are one step, listed by name; otherwise in the order replaced', () => {
  assert.deepEqual(replacedInOrder([{ atMs: 100, pod: 'rollcall-2' }, { atMs: 100, pod: 'rollcall-0' }, { atMs: 350, pod: 'rollcall-1' }]), ['rollcall-0', 'rollcall-1', 'rollcall-2']);
  assert.deepEqual(replacedInOrder([{ atMs: 5000, pod: 'rollcall-1' }, { atMs: 100, pod: 'rollcall-2' }, { atMs: 9000, pod: 'rollcall-0' }]), ['rollcall-2', 'rollcall-1', 'rollcall-0']);
});

test('the same runs agree with themselves; a changed order, verdict or manual step is a named difference', () => {
  const model = fixtureReport();
  assert.deepEqual(fidelity(model, { ...fixtureReport(), timeScale: 1 }).rows.map((r) => r.differences), model.runs.map(() => []), 'times may differ, what happened may not');
  const real = fixtureReport();
  const parallel = real.runs.find((r) => r.overlay === 'parallel')!;
  const replaced = parallel.timeline.markers.filter((m) => m.kind === 'pod-replaced');
  const first = replaced[0]!.pod!;
  replaced[0]!.pod = replaced[2]!.pod!;
  replaced[2]!.pod = first;
  real.runs.find((r) => r.overlay === 'recreate')!.figures.manualSteps = ['kubectl delete pod rollcall-0'];
  const rows = fidelity(model, real).rows;
  assert.deepEqual(rows.find((r) => r.overlay === 'parallel')!.differences, ['pods replaced: model rollcall-2, rollcall-1, rollcall-0, real rollcall-0, rollcall-1, rollcall-2']);
  assert.deepEqual(rows.find((r) => r.overlay === 'recreate')!.differences, ['manual steps: model none, real kubectl delete pod rollcall-0']);
  const md = fidelityMarkdown(fidelity(model, real));
  assert.match(md, /\| parallel × good \| .*rollcall-2 → rollcall-1 → rollcall-0 \\\| \*\*rollcall-0 → rollcall-1 → rollcall-2\*\*/);
  assert.match(md, /- recreate × crash: manual steps: model none, real kubectl delete pod rollcall-0/);
});

test('docs/fidelity.md and the README hold the tables of the recorded report (docs/fidelity.json)', () => {
  const report = JSON.parse(readFileSync(path.join(root, 'docs/fidelity.json'), 'utf8')) as FidelityReport;
  assert.ok(report.rows.length > 0);
  assert.match(report.real.description, /Kubernetes v1\.\d+/, 'the real side came from a real API server');
  const doc = readFileSync(path.join(root, 'docs/fidelity.md'), 'utf8');
  assert.ok(doc.includes(fidelityMarkdown(report)), 'docs/fidelity.md block fidelity is the recorded report (npm run fidelity -- --write)');
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  assert.ok(readme.includes(summaryBlock(report)), 'README block fidelity-summary is the recorded report');
});

test('the model\'s default pod start latency is what the real control plane measured (docs/fidelity.json)', () => {
  const report = JSON.parse(readFileSync(path.join(root, 'docs/fidelity.json'), 'utf8')) as FidelityReport;
  const measured = report.rows.flatMap((r) => (r.real.podStartS === null ? [] : [r.real.podStartS])).sort((a, b) => a - b);
  assert.ok(measured.length > 0);
  const median = measured[Math.floor(measured.length / 2)]! * 1000;
  // Within half a second: the machines are shared and noisy; a new measurement far from it means a new default.
  assert.ok(Math.abs(POD_START_LATENCY_MS - median) <= 500, `POD_START_LATENCY_MS ${POD_START_LATENCY_MS} vs measured median ${median} ms`);
});
