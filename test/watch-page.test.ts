// GET /watch and /watch.js through the app in-process: the page loads its script from the same origin only, the
// CSP allows exactly that, nothing from the instance's identity is parsed as markup, and watching counts no visit.
// test/watch-browser.test.ts runs the page in a real browser against real servers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Script } from 'node:vm';
import { createApp, type Counter } from '../src/service/app.ts';
import { WATCH_SCRIPT } from '../src/service/watch-page.ts';

function build(podName = 'rollcall-1') {
  const counter: Counter & { value: number } = { value: 0, healthy: true, visit: async () => ++counter.value };
  const app = createApp({
    counter,
    lifecycle: { notReadyReason: () => undefined },
    clock: { now: () => new Date('2026-01-02T03:04:05.000Z') },
    config: { podName, version: 'v2', timeZone: 'UTC' },
  });
  return { app, counter };
}

describe('GET /watch', () => {
  test('serves a page whose only script is /watch.js, under a CSP that allows scripts and requests to itself only', async () => {
    const { app, counter } = build();
    const response = await app.request('/watch');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    assert.deepEqual([...html.matchAll(/<script[^>]*>/g)].map((m) => m[0]), ['<script src="/watch.js" defer>']);
    assert.match(html, /<script src="\/watch.js" defer><\/script>/, 'no inline code');
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no external resource');
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.match(html, /served by <code>rollcall-1<\/code>, version v2/);
    assert.equal(counter.value, 0, 'opening the page counts no visit');
  });

  test('escapes the pod name it shows', async () => {
    const html = await (await build('<b>x</b>').app.request('/watch')).text();
    assert.match(html, /<code>&lt;b&gt;x&lt;\/b&gt;<\/code>/);
  });

  test('serves its script as JavaScript that parses, asks /visits by default and / only with ?count=1', async () => {
    const response = await build().app.request('/watch.js');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    const script = await response.text();
    assert.equal(script, WATCH_SCRIPT);
    assert.doesNotThrow(() => new Script(script, { filename: 'watch.js' }));
    assert.match(script, /fetch\(counting \? '\/' : '\/visits'/);
    assert.doesNotMatch(script, /innerHTML|insertAdjacentHTML|document\.write|eval\(/, 'answers never parsed as HTML or code');
  });

  test('answers 405 with Allow for other methods', async () => {
    for (const path of ['/watch', '/watch.js']) {
      const response = await build().app.request(path, { method: 'POST' });
      assert.equal(response.status, 405, path);
      assert.equal(response.headers.get('allow'), 'GET, HEAD', path);
    }
  });
});
