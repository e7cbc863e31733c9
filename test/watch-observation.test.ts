// The observation both rehearsal runners hand to the release watch (rehearsal/run/recorder.ts, watchObservation):
// the new pods' health as given, and only the visits of the last window, mapped to run time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchObservation } from '../rehearsal/run/recorder.ts';

test('counts the requests and failures of the last window only, in run time', () => {
  const origin = 1000;
  const outcomes = [
    { at: origin + 100, ok: false },
    { at: origin + 4100, ok: true },
    { at: origin + 4500, ok: false },
    { at: origin + 5000, ok: true },
  ];
  const observed = watchObservation(5000, { notReadyMs: 700, restarts: 2 }, outcomes, (t) => t - origin, { startupBudgetMs: 3000, rolloutDoneAtMs: null, windowMs: 1000 });
  assert.deepEqual(observed, {
    nowMs: 5000,
    newPodNotReadyMs: 700,
    newPodRestarts: 2,
    startupBudgetMs: 3000,
    rolloutDoneAtMs: null,
    window: { requests: 3, failed: 1 },
    windowMs: 1000,
  });
});
