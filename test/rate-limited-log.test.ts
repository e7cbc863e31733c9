// Client-caused warn lines at a bounded rate, with a summary of what was held back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rateLimitedWarn } from '../src/service/rate-limited-log.ts';

function harness(options: { burst: number; perSecond: number }) {
  let now = 0;
  const lines: { details: Record<string, unknown>; message: string }[] = [];
  const scheduled: (() => void)[] = [];
  const warn = rateLimitedWarn((details, message) => lines.push({ details: details as Record<string, unknown>, message }), {
    ...options,
    now: () => now,
    schedule: (_ms, run) => scheduled.push(run),
  });
  return { warn, lines, scheduled, advance: (ms: number) => (now += ms) };
}

describe('rateLimitedWarn', () => {
  test('3,800 lines in one second become the burst plus one summary naming how many were held back', () => {
    const h = harness({ burst: 20, perSecond: 1 });
    for (let i = 0; i < 3800; i++) h.warn({ i }, 'request cannot be routed: answered 400');
    assert.equal(h.lines.length, 20);
    assert.equal(h.scheduled.length, 1, 'one summary scheduled, not one per line');
    h.advance(10_000);
    h.scheduled.shift()!();
    assert.equal(h.lines.length, 21);
    assert.deepEqual(h.lines[20]!.details['held'], { 'request cannot be routed: answered 400': 3780 });
    assert.match(h.lines[20]!.message, /^3780 similar warn line\(s\) held back/);
  });

  test('after the burst, one line per second gets through', () => {
    const h = harness({ burst: 2, perSecond: 1 });
    for (let second = 0; second < 5; second++) {
      for (let i = 0; i < 10; i++) h.warn({}, 'x');
      h.advance(1000);
    }
    assert.equal(h.lines.length, 2 + 4);
  });

  test('a quiet client is never held back', () => {
    const h = harness({ burst: 20, perSecond: 1 });
    for (let i = 0; i < 100; i++) {
      h.warn({}, 'x');
      h.advance(1500);
    }
    assert.equal(h.lines.length, 100);
    assert.equal(h.scheduled.length, 0);
  });
});
