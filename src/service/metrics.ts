// Prometheus metrics with prom-client, on a registry of our own (not the global one) so tests can build several.
import client from 'prom-client';
import type { CounterMetrics } from './visit-counter.ts';

export interface AppMetrics {
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** A request answered below the app (src/service/http-guard.ts, src/service/http-server.ts): counted, not timed. */
  countRequest(route: string, method: string, status: number): void;
  countVisit(): void;
  render(): Promise<{ contentType: string; body: string }>;
}

/** The connection limit (src/service/connection-limit.ts): what it is, how many are open, what was closed at it. */
export interface ConnectionMetrics {
  setConnectionLimit(max: number, memoryLimitBytes: number, openNow: () => number | undefined): void;
  countClosedAtLimit(which: 'oldest-idle' | 'new'): void;
}

export function createMetrics(options: { defaultMetrics?: boolean; badRelease?: string } = {}): AppMetrics & CounterMetrics & ConnectionMetrics {
  const registry = new client.Registry();
  if (options.defaultMetrics ?? true) client.collectDefaultMetrics({ register: registry });
  if (options.badRelease) {
    // A dashboard must be able to tell a bad release on purpose from a real one (BAD_RELEASE, src/service/bad-release.ts).
    new client.Gauge({ name: 'bad_release_info', help: 'Set to 1 when BAD_RELEASE makes this instance a bad release on purpose.', labelNames: ['mode'] as const, registers: [registry] }).set({ mode: options.badRelease }, 1);
  }

  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by route and method.',
    labelNames: ['route', 'method'] as const,
    // A durable visit costs about one or two fsync'd write cycles (1-3 ms here); the tail is what matters.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const visits = new client.Counter({
    name: 'visits_total',
    help: 'Visits counted and acknowledged (durable) by this process.',
    registers: [registry],
  });
  const writeDuration = new client.Histogram({
    name: 'store_write_duration_seconds',
    help: 'Duration of one durable write of visits.json (temp write, fsync, rename, directory fsync).',
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  });
  const batchSize = new client.Histogram({
    name: 'store_batch_size',
    help: 'Visits made durable by one write (group commit).',
    buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const writeFailures = new client.Counter({
    name: 'store_write_failures_total',
    help: 'Failed durable writes, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });

  const connectionLimit = new client.Gauge({
    name: 'http_connections_limit',
    help: 'Connections kept open at most, derived from the memory limit (memory_limit_bytes label).',
    labelNames: ['memory_limit_bytes'] as const,
    registers: [registry],
  });
  let openNow: () => number | undefined = () => undefined;
  new client.Gauge({
    name: 'http_connections_open',
    help: 'Connections open now.',
    registers: [registry],
    collect() {
      const open = openNow();
      if (open !== undefined) this.set(open);
    },
  });
  const closedAtLimit = new client.Counter({
    name: 'http_connections_closed_at_limit_total',
    help: 'Connections closed at the connection limit: the oldest idle one to make room, or the new one when every open one was working.',
    labelNames: ['which'] as const,
    registers: [registry],
  });

  return {
    setConnectionLimit(max, memoryLimitBytes, open) {
      connectionLimit.set({ memory_limit_bytes: String(memoryLimitBytes) }, max);
      openNow = open;
      // Both series exist from the start, so a dashboard's rate() sees the first refusal.
      closedAtLimit.inc({ which: 'oldest-idle' }, 0);
      closedAtLimit.inc({ which: 'new' }, 0);
    },
    countClosedAtLimit: (which) => closedAtLimit.inc({ which }),
    observeRequest(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
    countRequest: (route, method, status) => requests.inc({ route, method, status: String(status) }),
    countVisit: () => visits.inc(),
    observeWrite(seconds, size) {
      writeDuration.observe(seconds);
      batchSize.observe(size);
    },
    observeWriteFailure: (code) => writeFailures.inc({ code }),
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
