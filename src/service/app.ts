// The HTTP application: a pure fetch handler. It never listens, never reads the environment and imports nothing
// from node:, so it runs on any runtime with Request/Response; src/service/main.ts wires it to Node. Everything it
// depends on (counter, clock, readiness, metrics) is passed in, so tests build it with fakes.
import { Hono } from 'hono';
import { accepts } from 'hono/accepts';
import type { AppMetrics } from './metrics.ts';
import { securityHeaders } from './security-headers.ts';
import { RequestStats } from './request-stats.ts';
import { renderVisitPage } from './visit-page.ts';
import { WATCH_PATHS, watchRoutes } from './watch-page.ts';

export interface Counter {
  /** Counts one visit; resolves with its number once durable, rejects (with a `code`) when it cannot be stored. */
  visit(): Promise<number>;
  /** The highest durable count. */
  readonly value: number;
  /** False while the store cannot write. */
  readonly healthy: boolean;
  /** Why it is unhealthy, when that is more than "the store cannot write right now" (e.g. 'counter-exhausted'). */
  readonly problem?: string | undefined;
}

export interface Lifecycle {
  /** Why the instance must not get traffic right now ('starting', 'draining'), or undefined when it may. */
  notReadyReason(): string | undefined;
}

export interface AppDeps {
  counter: Counter;
  lifecycle: Lifecycle;
  clock: { now(): Date };
  config: { podName: string; version: string; timeZone: string };
  metrics?: AppMetrics;
  /** Counts of GET / over the last minute for GET /stats; a fresh 60 s window when not given. */
  requestStats?: RequestStats;
  /** A bad release on purpose (BAD_RELEASE, src/service/bad-release.ts): its label, and whether this visit fails. */
  badRelease?: { label: string; failsVisit(): boolean };
}

/** Methods each path answers; anything else on a known path gets 405 with this list in `Allow`. */
const ALLOWED: Record<string, string> = {
  '/': 'GET, HEAD',
  '/visits': 'GET, HEAD',
  '/healthz': 'GET, HEAD',
  '/readyz': 'GET, HEAD',
  '/metrics': 'GET, HEAD',
  ...WATCH_PATHS,
  '/stats': 'GET, HEAD',
};

/**
 * GET / answers HTML unless the client prefers JSON (curl -H 'Accept: application/json', tools): media ranges with
 * q-values, case-insensitive, parsed by Hono's accepts helper. `*\/*`, no Accept, or nothing acceptable → HTML.
 */
const NEGOTIATION: Parameters<typeof accepts>[1] = { header: 'Accept', supports: ['text/html', 'application/json'], default: 'text/html' };

export function createApp({ counter, lifecycle, clock, config, metrics, requestStats = new RequestStats(), badRelease }: AppDeps): Hono {
  const app = new Hono();
  const identity = { pod: config.podName, version: config.version, ...(badRelease ? { badRelease: badRelease.label } : {}) };

  // GET / only (the visits users make; probes and scrapes would dilute the share): its status after every other
  // handler and onError ran, so a 500 from any cause counts as an error (src/service/request-stats.ts).
  app.use('/', async (c, next) => {
    await next();
    if (c.req.method === 'GET') requestStats.record(c.res.status, clock.now().getTime());
  });

  if (metrics) {
    app.use(async (c, next) => {
      const started = performance.now();
      await next();
      const route = Object.hasOwn(ALLOWED, c.req.path) ? c.req.path : 'unmatched';
      metrics.observeRequest(route, c.req.method, c.res.status, (performance.now() - started) / 1000);
    });
  }

  app.use(securityHeaders());

  const unavailable = (code: string) =>
    [{ error: 'the visit could not be stored; it was not counted', code }, 503, { 'Retry-After': '1', 'Cache-Control': 'no-store' }] as const;

  app.get('/', async (c) => {
    // HEAD must not count a visit (Hono would otherwise run this GET handler for it), but it must give the status a
    // GET would get now: 503 while the store cannot write, so a HEAD probe never reports a visit page that is down.
    if (c.req.method === 'HEAD') {
      if (!counter.healthy) return c.body(null, 503, { 'Retry-After': '1', 'Cache-Control': 'no-store' });
      return c.body(null, 200, { 'Cache-Control': 'no-store', Vary: 'Accept' });
    }
    if (badRelease?.failsVisit()) {
      return c.json({ error: `a bad release on purpose (BAD_RELEASE=${badRelease.label}); the visit was not counted`, ...identity }, 500, {
        'Cache-Control': 'no-store',
      });
    }
    let visit: number;
    try {
      visit = await counter.visit();
    } catch (error) {
      return c.json(...unavailable((error as { code?: string }).code ?? 'EUNKNOWN'));
    }
    metrics?.countVisit();
    c.header('Cache-Control', 'no-store');
    c.header('Vary', 'Accept');
    const now = clock.now();
    if (accepts(c, NEGOTIATION) === 'application/json') return c.json({ visit, ...identity, time: now.toISOString() });
    return c.html(renderVisitPage({ visit, now, timeZone: config.timeZone, ...identity }));
  });

  app.get('/visits', (c) => c.json({ counter: counter.value, ...identity }, 200, { 'Cache-Control': 'no-store' }));

  app.route('/', watchRoutes(identity));

  // The canary analysis reads error_share from here (kustomize/overlays/canary-analysis/analysistemplate.yaml).
  // `?version=V` restricts the answer to release V: another version answers 404, which Argo Rollouts' web provider
  // takes as an Error measurement (retried, never counted as a pass or a failure), so an analysis started while the
  // canary pod is being replaced never judges the old release (src/service/request-stats.ts).
  app.get('/stats', (c) => {
    const requested = c.req.query('version');
    if (requested !== undefined && requested !== config.version) {
      return c.json({ error: 'version not served here', requested, ...identity }, 404, { 'Cache-Control': 'no-store' });
    }
    return c.json({ ...requestStats.snapshot(clock.now().getTime()), ...identity }, 200, { 'Cache-Control': 'no-store' });
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', (c) => {
    const reason = lifecycle.notReadyReason() ?? (counter.healthy ? undefined : (counter.problem ?? 'store-unwritable'));
    if (reason) return c.json({ status: 'not ready', reason }, 503);
    return c.json({ status: 'ready' });
  });

  if (metrics) {
    app.get('/metrics', async (c) => {
      const { contentType, body } = await metrics.render();
      return c.body(body, 200, { 'Content-Type': contentType });
    });
  }

  for (const [path, allow] of Object.entries(ALLOWED)) {
    app.all(path, (c) => c.json({ error: `method ${c.req.method} not allowed`, allow }, 405, { Allow: allow }));
  }

  app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));
  app.onError((error, c) => c.json({ error: 'internal error', message: error.message }, 500));
  return app;
}
