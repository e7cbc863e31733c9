// Smoke test: `node src/hooks/smoke.ts [baseUrl ...]`.
// Run by the Argo CD Sync-phase hook Job in kustomize/components/smoke-test from the app image, so it uses only Node
// built-ins (global fetch). It checks every replica of the StatefulSet through its stable DNS name on the headless
// Service (rollcall-<i>.rollcall-headless.<ns>.svc.cluster.local:5000): GET /readyz must answer 200 and GET /visits
// must answer {"counter":N,"pod":"...","version":"..."} with `version` equal to the expected version: SMOKE_EXPECTED_VERSION,
// else the version of the package.json in the image this check runs from, which is the image being synced (the Job
// copies the StatefulSet's image). So a replica still on the old release, or an image whose tag and version differ,
// keeps failing until the deadline. Exit 0 when all pass, 1 otherwise (one line per replica), 2 on bad configuration.
// It distrusts what a replica answers: each request's timeout covers the whole answer (a trickle cannot hold it), a
// /visits answer above 64 KiB is refused unread, and a redirect is a failure, never followed.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SmokeTarget {
  /** What the report calls this replica (pod name, or the URL when given explicitly). */
  name: string;
  /** http://host:port or http://host:port/prefix; /readyz and /visits are appended. */
  baseUrl: string;
  /** When known (DNS targets), the pod name /visits must report: catches a name that resolves to the wrong pod. */
  expectedPod?: string;
  /** The StatefulSet ordinal (DNS targets): below SmokeOptions.partition the previous release is expected to stay. */
  ordinal?: number;
}

export interface Visits {
  counter: number;
  pod: string;
  version: string;
}

export interface ReplicaResult {
  name: string;
  ok: boolean;
  message: string;
  visits?: Visits;
  attempts: number;
}

export interface SmokeOptions {
  /** Keep retrying a failing replica until this much time has passed (pods may still be starting). */
  timeoutMs: number;
  /** Pause between attempts on the same replica. */
  intervalMs: number;
  /** Per HTTP request. */
  requestTimeoutMs: number;
  /** Every replica's /visits must report this version; undefined = any non-empty version. */
  expectedVersion?: string;
  /** Replicas with an ordinal below this keep the previous release (a partitioned rolling update): no version check. */
  partition?: number;
  fetch?: typeof fetch;
}

export const defaultOptions: SmokeOptions = { timeoutMs: 120_000, intervalMs: 2_000, requestTimeoutMs: 3_000 };

/** /visits is one small JSON object (well under 1 KiB); anything much bigger is not the app. */
export const maxVisitsBytes = 64 * 1024;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function positiveInt(env: Record<string, string | undefined>, key: string, fallback: number, min = 1): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${key} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Targets from the command line (base URLs), else SMOKE_URLS (comma separated), else the StatefulSet's DNS names
 * built from SMOKE_STATEFULSET, SMOKE_SERVICE, SMOKE_NAMESPACE, SMOKE_REPLICAS, SMOKE_PORT, SMOKE_CLUSTER_DOMAIN.
 */
export function targetsFromConfig(env: Record<string, string | undefined>, args: readonly string[] = []): SmokeTarget[] {
  const urls = args.length > 0 ? [...args] : (env['SMOKE_URLS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (urls.length > 0) {
    return urls.map((u) => {
      let parsed: URL;
      try {
        parsed = new URL(u);
      } catch {
        throw new ConfigError(`not a URL: ${JSON.stringify(u)}`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`not an http(s) URL: ${u}`);
      return { name: u, baseUrl: u };
    });
  }
  const sts = env['SMOKE_STATEFULSET'] || 'rollcall';
  const svc = env['SMOKE_SERVICE'] || `${sts}-headless`;
  const ns = env['SMOKE_NAMESPACE'];
  if (!ns) throw new ConfigError('SMOKE_NAMESPACE is required (or give base URLs as arguments / SMOKE_URLS)');
  const replicas = positiveInt(env, 'SMOKE_REPLICAS', 3);
  const port = positiveInt(env, 'SMOKE_PORT', 5000);
  const domain = env['SMOKE_CLUSTER_DOMAIN'] || 'cluster.local';
  return Array.from({ length: replicas }, (_, i) => {
    const pod = `${sts}-${i}`;
    return { name: pod, baseUrl: `http://${pod}.${svc}.${ns}.svc.${domain}:${port}`, expectedPod: pod, ordinal: i };
  });
}

/**
 * The version of the rollcall package.json nearest to this module (the image's /app/package.json in the cluster,
 * the checkout's in development): what the app in the same image reports when APP_VERSION is not set.
 */
export function ownPackageVersion(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from, i = 0; i < 4; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'rollcall' && typeof pkg.version === 'string') return pkg.version;
  }
  return undefined;
}

export function optionsFromEnv(env: Record<string, string | undefined>, packageVersion: string | null = ownPackageVersion() ?? null): SmokeOptions {
  const expectedVersion = env['SMOKE_EXPECTED_VERSION'] || packageVersion || undefined;
  if (expectedVersion === undefined) throw new ConfigError('no expected version: set SMOKE_EXPECTED_VERSION (no rollcall package.json found next to the check)');
  return {
    timeoutMs: positiveInt(env, 'SMOKE_TIMEOUT_MS', defaultOptions.timeoutMs, 0),
    intervalMs: positiveInt(env, 'SMOKE_INTERVAL_MS', defaultOptions.intervalMs, 0),
    requestTimeoutMs: positiveInt(env, 'SMOKE_REQUEST_TIMEOUT_MS', defaultOptions.requestTimeoutMs),
    expectedVersion,
    partition: positiveInt(env, 'SMOKE_PARTITION', 0, 0),
  };
}

/** Validates the /visits body; returns the parsed value or a sentence saying what is wrong. */
export function parseVisits(body: unknown): Visits | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body is not a JSON object';
  const o = body as Record<string, unknown>;
  const counter = o['counter'];
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 0) {
    return `"counter" must be a non-negative integer, got ${JSON.stringify(counter)}`;
  }
  const pod = o['pod'];
  if (typeof pod !== 'string' || pod === '') return `"pod" must be a non-empty string, got ${JSON.stringify(pod)}`;
  const version = o['version'];
  if (typeof version !== 'string' || version === '') return `"version" must be a non-empty string, got ${JSON.stringify(version)}`;
  return { counter, pod, version };
}

function url(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path}`;
}

/** The body as text, refused past `max` bytes without reading the rest (a declared or an actual size). */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw new Error(`answer larger than ${max} bytes (Content-Length ${declared})`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error(`answer larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const isRedirect = (status: number) => status >= 300 && status < 400;

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    if (err.name === 'TimeoutError') return 'timed out';
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** One attempt against one replica. Never throws. */
export async function checkReplica(target: SmokeTarget, opts: Pick<SmokeOptions, 'requestTimeoutMs' | 'fetch' | 'expectedVersion' | 'partition'>): Promise<Omit<ReplicaResult, 'attempts'>> {
  const doFetch = opts.fetch ?? fetch;
  const get = (path: string) =>
    doFetch(url(target.baseUrl, path), {
      headers: { accept: 'application/json' },
      // Never followed: the check must talk to the replica it names.
      redirect: 'manual',
      // Aborts the body too, so it bounds the whole answer, not only its headers.
      signal: AbortSignal.timeout(opts.requestTimeoutMs),
    });
  const fail = (message: string) => ({ name: target.name, ok: false, message });
  try {
    const ready = await get('readyz');
    await ready.body?.cancel();
    if (isRedirect(ready.status)) return fail(`GET /readyz answered a redirect (${ready.status}); redirects are not followed`);
    if (ready.status !== 200) return fail(`GET /readyz answered ${ready.status}, want 200`);
  } catch (err) {
    return fail(`GET /readyz failed: ${describeError(err)}`);
  }
  let text: string;
  let status: number;
  try {
    const res = await get('visits');
    status = res.status;
    if (isRedirect(status)) {
      await res.body?.cancel();
      return fail(`GET /visits answered a redirect (${status}); redirects are not followed`);
    }
    text = await readCapped(res, maxVisitsBytes);
  } catch (err) {
    return fail(`GET /visits failed: ${describeError(err)}`);
  }
  if (status !== 200) return fail(`GET /visits answered ${status}, want 200`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail(`GET /visits is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const visits = parseVisits(body);
  if (typeof visits === 'string') return fail(`GET /visits malformed: ${visits}`);
  if (target.expectedPod !== undefined && visits.pod !== target.expectedPod) {
    return fail(`GET /visits reports pod ${JSON.stringify(visits.pod)}, want ${JSON.stringify(target.expectedPod)}`);
  }
  const updated = target.ordinal === undefined || target.ordinal >= (opts.partition ?? 0);
  if (updated && opts.expectedVersion !== undefined && visits.version !== opts.expectedVersion) {
    return fail(`GET /visits reports version ${JSON.stringify(visits.version)}, want ${JSON.stringify(opts.expectedVersion)} (the image being synced)`);
  }
  return { name: target.name, ok: true, message: `ready, counter ${visits.counter}, version ${visits.version}`, visits };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retries one replica until it passes or the deadline passes; the last failure is the reported one. */
export async function checkReplicaUntil(target: SmokeTarget, opts: SmokeOptions): Promise<ReplicaResult> {
  const deadline = Date.now() + opts.timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    const result = await checkReplica(target, opts);
    if (result.ok || Date.now() + opts.intervalMs > deadline) return { ...result, attempts };
    await sleep(opts.intervalMs);
  }
}

/** Checks every replica concurrently. */
export async function runSmoke(targets: readonly SmokeTarget[], opts: SmokeOptions): Promise<ReplicaResult[]> {
  return Promise.all(targets.map((t) => checkReplicaUntil(t, opts)));
}

/**
 * One line per replica and the verdict. With `namespace` (in-cluster runs), a failure also names the commands that
 * show why: this log is what a failed sync leaves behind (the Job is kept on failure; the bundle has no SyncFail
 * hook, see argocd/README.md).
 */
export function formatReport(results: readonly ReplicaResult[], namespace?: string): string {
  const lines = results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.message}${r.ok ? '' : ` (after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'})`}`);
  const failing = results.filter((r) => !r.ok);
  lines.push(failing.length === 0 ? `smoke test passed: ${results.length} replica(s) ready` : `smoke test FAILED: ${failing.length} of ${results.length} replica(s)`);
  if (failing.length > 0 && namespace !== undefined) {
    lines.push(`diagnose: kubectl -n ${namespace} get pods -L controller-revision-hash`);
    for (const r of failing) lines.push(`diagnose: kubectl -n ${namespace} describe pod ${r.name}; kubectl -n ${namespace} logs ${r.name} --previous`);
  }
  return lines.join('\n');
}

export async function main(env: Record<string, string | undefined>, args: readonly string[]): Promise<number> {
  let targets: SmokeTarget[];
  let opts: SmokeOptions;
  try {
    targets = targetsFromConfig(env, args);
    opts = optionsFromEnv(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`smoke: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const results = await runSmoke(targets, opts);
  const report = formatReport(results, args.length === 0 && !env['SMOKE_URLS'] ? env['SMOKE_NAMESPACE'] : undefined);
  (results.every((r) => r.ok) ? console.log : console.error)(report);
  return results.every((r) => r.ok) ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.env, process.argv.slice(2));
}
