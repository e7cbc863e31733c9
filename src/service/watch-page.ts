// GET /watch: a live page that shows a rollout as it happens, in the spirit of Argo Rollouts' rollouts-demo. Its
// script (GET /watch.js, same origin, so the CSP allows `script-src 'self'` and nothing inline) asks the Service
// at a steady rate and draws each answer: which pod and version answered, failures in red, and the share per
// version over the last seconds. It asks GET /visits, which counts nothing; `?count=1` asks GET / instead, which
// counts a visit per request. Opened through the client Service while a rollout runs, it shows the strategy at work.
import { Hono } from 'hono';
import { escapeHtml } from './visit-page.ts';

/** Paths this module answers, for the app's 405 handling and metrics labels. */
export const WATCH_PATHS: Record<string, string> = { '/watch': 'GET, HEAD', '/watch.js': 'GET, HEAD' };

export function watchRoutes(identity: { pod: string; version: string }): Hono {
  const routes = new Hono();
  routes.get('/watch', (c) => c.html(renderWatchPage(identity), 200, { 'Cache-Control': 'no-store' }));
  routes.get('/watch.js', (c) =>
    c.body(WATCH_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' }),
  );
  return routes;
}

export function renderWatchPage({ pod, version }: { pod: string; version: string }): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>rollcall: watch</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;line-height:1.4}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.05rem;margin:1.2rem 0 .3rem}
#status{color:#333}table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #bbb;padding:.2rem .5rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.failed td{color:#d62728;font-weight:600}
svg{display:block}td svg{display:inline;vertical-align:-1px}#squares{max-width:100%;height:auto}.row{display:flex;flex-wrap:wrap;gap:2rem}
</style>
<script src="/watch.js" defer></script></head>
<body>
<h1>rollcall: watch the Service answer</h1>
<p>This page was served by <code>${escapeHtml(pod || '(no pod name)')}</code>, version ${escapeHtml(version || '(none)')}.
Its script asks the Service at a steady rate from this browser and draws every answer.</p>
<p id="status" role="status">Starting…</p>
<p><a id="toggle" href="?count=1">Count visits too</a> (asks <code>GET /</code>, which counts one visit per request;
a release that fails only visits, such as <code>BAD_RELEASE=errors</code>, shows its failures this way)</p>
<h2>Last answers, oldest first (colour: version; red with a cross: failed)</h2>
<svg id="squares" role="img" aria-label="The last answers, one square each" viewBox="0 0 640 80" width="640" height="80">
<defs><pattern id="failed" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#d62728"/><path d="M0,0 l6,6 M6,0 l-6,6" stroke="#fff" stroke-width="1"/></pattern></defs>
</svg>
<div class="row">
<section><h2>Share per version, last <span id="window">5</span> s</h2>
<svg id="share-bar" role="img" aria-label="Share per version" width="300" height="18" viewBox="0 0 300 18"></svg>
<table id="share"><thead><tr><th>Version</th><th>Answers</th><th>Share</th></tr></thead><tbody></tbody></table></section>
<section><h2>Pods that answered, last <span id="window-pods">5</span> s</h2>
<table id="pods"><thead><tr><th>Pod</th><th>Version</th><th>Answers</th></tr></thead><tbody></tbody></table></section>
<section><h2>Since the page opened</h2>
<table id="totals"><thead><tr><th>Version</th><th>Answers</th></tr></thead><tbody></tbody></table></section>
</div>
<noscript><p>This page needs JavaScript: it asks the Service from your browser.</p></noscript>
</body>
</html>
`;
}

// The browser side, served as a static same-origin script. Plain JavaScript in a string because the app serves it
// as it is (no bundler); it builds every element with DOM calls and textContent, so nothing from an answer is ever
// parsed as HTML. Versions take the Okabe–Ito palette in the order they first answer; red is kept for failures.
export const WATCH_SCRIPT = `'use strict';
(() => {
  const params = new URLSearchParams(location.search);
  const counting = params.get('count') === '1';
  const rate = Math.min(50, Math.max(1, Number(params.get('rate')) || 10));
  const WINDOW_MS = 5000;
  const TIMEOUT_MS = Math.min(30000, Math.max(500, Number(params.get('timeout')) || 2000));
  const COLS = 40, ROWS = 5, SIZE = 14, STEP = 16;
  const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#f0e442', '#8c6d31'];
  const SVG = 'http://www.w3.org/2000/svg';
  const colours = new Map();
  const colourOf = (version) => {
    if (!colours.has(version)) colours.set(version, PALETTE[colours.size % PALETTE.length]);
    return colours.get(version);
  };
  const answers = [];
  const totals = new Map();
  let total = 0, failedTotal = 0;

  const $ = (id) => document.getElementById(id);
  const el = (tag, text, ns) => {
    const node = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    return node;
  };
  const swatch = (fill) => {
    const svg = el('svg', undefined, true);
    svg.setAttribute('width', '12'); svg.setAttribute('height', '12'); svg.setAttribute('aria-hidden', 'true');
    const rect = el('rect', undefined, true);
    rect.setAttribute('width', '12'); rect.setAttribute('height', '12'); rect.setAttribute('fill', fill);
    svg.append(rect);
    return svg;
  };
  const row = (cells, attrs) => {
    const tr = el('tr');
    for (const [key, value] of Object.entries(attrs || {})) tr.setAttribute(key, value);
    for (const cell of cells) {
      const td = el('td');
      if (cell.swatch) td.append(swatch(cell.swatch), ' ');
      td.append(String(cell.text));
      if (cell.n) td.className = 'n';
      tr.append(td);
    }
    return tr;
  };

  const squares = [];
  for (let i = 0; i < COLS * ROWS; i++) {
    const rect = el('rect', undefined, true);
    rect.setAttribute('x', String((i % COLS) * STEP));
    rect.setAttribute('y', String(Math.floor(i / COLS) * STEP));
    rect.setAttribute('width', String(SIZE));
    rect.setAttribute('height', String(SIZE));
    rect.setAttribute('fill', '#eee');
    rect.append(el('title', 'no answer yet', true));
    $('squares').append(rect);
    squares.push(rect);
  }
  $('window').textContent = $('window-pods').textContent = String(WINDOW_MS / 1000);
  const toggle = $('toggle');
  if (counting) { toggle.textContent = 'Stop counting visits'; toggle.setAttribute('href', '?'); }

  function draw() {
    const shown = answers.slice(-squares.length);
    squares.forEach((rect, i) => {
      const answer = shown[i];
      if (!answer) return;
      rect.setAttribute('fill', answer.ok ? colourOf(answer.version) : 'url(#failed)');
      rect.setAttribute('class', answer.ok ? 'ok' : 'failed');
      rect.firstChild.textContent = new Date(answer.at).toISOString().slice(11, 23) + ' ' +
        (answer.ok ? answer.pod + ' ' + answer.version + (answer.bad ? ' (bad release: ' + answer.bad + ')' : '') : 'failed: ' + answer.detail) + ' (' + answer.ms + ' ms)';
    });

    const since = Date.now() - WINDOW_MS;
    const recent = answers.filter((a) => a.at >= since);
    const byVersion = new Map();
    const byPod = new Map();
    let failed = 0;
    for (const a of recent) {
      if (!a.ok) { failed++; continue; }
      byVersion.set(a.version, (byVersion.get(a.version) || 0) + 1);
      const key = a.pod + ' ' + a.version;
      byPod.set(key, { pod: a.pod, version: a.version, bad: a.bad, n: ((byPod.get(key) || {}).n || 0) + 1 });
    }
    const share = (n) => recent.length ? (100 * n / recent.length).toFixed(0) + ' %' : '–';
    const shareRows = [...byVersion].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }))
      .map(([version, n]) => row([{ text: version, swatch: colourOf(version) }, { text: n, n: true }, { text: share(n), n: true }], { 'data-version': version }));
    if (failed) shareRows.push(row([{ text: 'failed', swatch: 'url(#failed)' }, { text: failed, n: true }, { text: share(failed), n: true }], { class: 'failed' }));
    $('share').tBodies[0].replaceChildren(...shareRows);

    const bar = $('share-bar');
    const parts = [...byVersion].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true })).map(([v, n]) => [colourOf(v), n, v]);
    if (failed) parts.push(['url(#failed)', failed, 'failed']);
    let x = 0;
    bar.replaceChildren(...parts.map(([fill, n, label]) => {
      const rect = el('rect', undefined, true);
      const w = recent.length ? 300 * n / recent.length : 0;
      rect.setAttribute('x', String(x)); rect.setAttribute('width', String(w)); rect.setAttribute('height', '18');
      rect.setAttribute('fill', fill);
      rect.append(el('title', label + ': ' + share(n), true));
      x += w;
      return rect;
    }));

    $('pods').tBodies[0].replaceChildren(...[...byPod.values()].sort((a, b) => a.pod.localeCompare(b.pod, 'en', { numeric: true }))
      .map((p) => row([{ text: p.pod }, { text: p.version + (p.bad ? ' (bad release: ' + p.bad + ')' : ''), swatch: colourOf(p.version) }, { text: p.n, n: true }], { 'data-pod': p.pod, 'data-version': p.version })));

    const totalRows = [...totals].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }))
      .map(([version, n]) => row([{ text: version, swatch: colourOf(version) }, { text: n, n: true }], { 'data-version': version }));
    totalRows.push(row([{ text: 'failed', swatch: 'url(#failed)' }, { text: failedTotal, n: true }], { id: 'failed-total', class: failedTotal ? 'failed' : '' }));
    $('totals').tBodies[0].replaceChildren(...totalRows);

    $('status').textContent = 'Asking GET ' + (counting ? '/ (counting a visit each time)' : '/visits (counting nothing)') + ' ' +
      rate + ' times a second: ' + total + ' answers, ' + failedTotal + ' failed.';
  }

  function record(answer) {
    answers.push(answer);
    if (answers.length > 2000) answers.splice(0, answers.length - 1000);
    total++;
    if (answer.ok) totals.set(answer.version, (totals.get(answer.version) || 0) + 1);
    else failedTotal++;
    draw();
  }

  async function ask() {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let answer;
    try {
      const response = await fetch(counting ? '/' : '/visits', { cache: 'no-store', headers: { accept: 'application/json' }, signal: controller.signal });
      const body = await response.json().catch(() => ({}));
      answer = response.ok && typeof body.version === 'string'
        ? { ok: true, pod: String(body.pod || '(no pod name)'), version: body.version || '(none)', bad: body.badRelease ? String(body.badRelease) : '' }
        : { ok: false, detail: 'HTTP ' + response.status + (body.pod ? ' from ' + body.pod : '') };
    } catch (error) {
      answer = { ok: false, detail: error && error.name === 'AbortError' ? 'no answer in ' + TIMEOUT_MS / 1000 + ' s' : 'network error' };
    } finally {
      clearTimeout(timer);
    }
    answer.at = Date.now();
    answer.ms = Math.round(performance.now() - started);
    record(answer);
  }

  setInterval(ask, 1000 / rate);
  ask();
})();
`;
