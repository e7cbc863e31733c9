// A minimal Kubernetes API client for the hook commands: JSON in, JSON out, nothing else.
// Runs from the app image, so only Node built-ins. One transport on node:http/https, two ways to reach the server:
//  - in cluster: the pod's ServiceAccount token and CA (/var/run/secrets/kubernetes.io/serviceaccount) and
//    KUBERNETES_SERVICE_HOST/PORT; the API server's certificate is signed by the cluster CA, not a public one.
//    https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/#without-using-a-proxy
//  - a base URL (tests' stand-in server, or `kubectl proxy` at http://127.0.0.1:8001).
// It distrusts what it reads, because a hook that hangs or crashes holds or fails the whole Argo CD sync:
//  - a whole-answer timeout (not an idle timeout: an answer trickling one byte every 20 s never goes idle),
//  - a cap on the answer's size (a 1 GiB answer is refused at the cap, not buffered),
//  - no redirects (the API server never sends one; a redirect would carry the bearer token elsewhere),
//  - a 2xx answer must be JSON, else it is reported as invalid JSON.
// Failures are typed: TransportError (reset, refused, timed out: worth retrying, see k8s-retry.ts) and AnswerError
// (redirect, too large, not JSON: retrying would get the same).
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';

export interface KubeResponse {
  status: number;
  /** Parsed JSON; for a non-2xx answer that is not JSON, its text (for the error message). */
  body: unknown;
  /** Retry-After, in milliseconds, when the server sent one (RFC 9110 section 10.2.3: seconds or an HTTP date). */
  retryAfterMs?: number;
}

export type Method = 'GET' | 'DELETE';

export interface KubeClient {
  /** `path` starts with /api or /apis and may carry a query string. */
  request(method: Method, path: string, body?: unknown): Promise<KubeResponse>;
}

export interface Limits {
  /** From sending the request to the last byte of the answer. */
  answerTimeoutMs: number;
  /** Largest answer read; a bigger one is refused (a PodList of a few pods is a few KiB). */
  maxAnswerBytes: number;
}

export const defaultLimits: Limits = { answerTimeoutMs: 15_000, maxAnswerBytes: 8 * 1024 * 1024 };

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Thrown for a non-2xx answer, with the Status message the API server sends. */
export class KubeError extends Error {
  override name = 'KubeError';
  readonly status: number;
  constructor(method: string, path: string, res: KubeResponse) {
    super(`${method} ${path} answered ${res.status}: ${statusMessage(res)}`);
    this.status = res.status;
  }
}

/** No answer, or no complete one: connection refused or reset, timed out. Retrying may help. */
export class TransportError extends Error {
  override name = 'TransportError';
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

/** A complete answer that cannot be used: a redirect, too large, not JSON. Retrying would get the same. */
export class AnswerError extends Error {
  override name = 'AnswerError';
}

/** The `message` of a Kubernetes Status body, else the start of the body. */
export function statusMessage(res: KubeResponse): string {
  const b = res.body;
  if (typeof b === 'object' && b !== null && typeof (b as { message?: unknown }).message === 'string') return (b as { message: string }).message;
  const text = typeof b === 'string' ? b : JSON.stringify(b);
  return text === undefined || text === '' ? '(empty answer)' : text.slice(0, 200);
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 section 10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its day and month; anything else (e.g. "-1", which Date.parse would take as a year) is ignored.
  if (!/^[A-Za-z]{3}, /.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const mib = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;

/** One request, one complete answer within the limits, or a typed error. Never follows a redirect. */
function exchange(
  send: typeof httpRequest,
  options: RequestOptions,
  what: string,
  payload: string | undefined,
  limits: Limits,
): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, answer?: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(answer as RawAnswer);
    };
    // The whole exchange, not socket idleness: `timeout` on a request is an idle timeout, which a trickle resets.
    const timer = setTimeout(
      () => finish(new TransportError(`${what}: no complete answer within ${limits.answerTimeoutMs} ms`, 'ANSWER_TIMEOUT')),
      limits.answerTimeoutMs,
    );
    const tooLarge = (size: string) => new AnswerError(`${what}: answer larger than ${mib(limits.maxAnswerBytes)} (${size}); refused`);
    const req = send(options, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        finish(new AnswerError(`${what} answered a redirect (${status} to ${JSON.stringify(res.headers.location ?? '')}); redirects are not followed`));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxAnswerBytes) {
        finish(tooLarge(`Content-Length ${declared}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.maxAnswerBytes) finish(tooLarge(`at least ${size} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => finish(undefined, { status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err: NodeJS.ErrnoException) => finish(new TransportError(`${what}: answer cut off: ${err.message}`, err.code ?? 'ECONNRESET')));
      res.on('close', () => {
        if (!res.complete) finish(new TransportError(`${what}: answer cut off after ${size} bytes`, 'ECONNRESET'));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(new TransportError(`${what} failed: ${err.message}`, err.code ?? 'EIO')));
    req.end(payload);
  });
}

/** The answer as a KubeResponse: a 2xx must be JSON; otherwise keep whatever explains the status. */
function toResponse(answer: RawAnswer, what: string): KubeResponse {
  const retryAfterMs = parseRetryAfter(answer.headers['retry-after']);
  const ok = answer.status >= 200 && answer.status < 300;
  let body: unknown;
  try {
    body = answer.text === '' ? null : JSON.parse(answer.text);
  } catch {
    if (ok) throw new AnswerError(`${what} answered ${answer.status} with invalid JSON: ${JSON.stringify(answer.text.slice(0, 80))}`);
    body = answer.text;
  }
  if (ok && body === null) throw new AnswerError(`${what} answered ${answer.status} with an empty body, want JSON`);
  return { status: answer.status, body, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}

interface Endpoint {
  send: typeof httpRequest;
  base: RequestOptions;
  pathPrefix: string;
  token: () => string | undefined;
}

function clientFor(endpoint: Endpoint, limits: Limits): KubeClient {
  return {
    async request(method, path, body) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const token = endpoint.token();
      const what = `${method} ${path}`;
      const answer = await exchange(
        endpoint.send,
        {
          ...endpoint.base,
          method,
          path: endpoint.pathPrefix + path,
          headers: {
            accept: 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        what,
        payload,
        limits,
      );
      return toResponse(answer, what);
    },
  };
}

/** Talks to `baseUrl` (http, or https with a publicly trusted certificate); an optional bearer token. */
export function urlClient(baseUrl: string, token?: string, limits: Limits = defaultLimits): KubeClient {
  const url = new URL(baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) URL: ${baseUrl}`);
  return clientFor(
    {
      send: url.protocol === 'https:' ? httpsRequest : httpRequest,
      base: { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || (url.protocol === 'https:' ? 443 : 80) },
      pathPrefix: url.pathname.replace(/\/+$/, ''),
      token: () => token,
    },
    limits,
  );
}

export interface InClusterConfig {
  host: string;
  port: number;
  ca: Buffer;
  tokenFile: string;
}

/** Reads the in-cluster settings; throws a sentence naming what is missing. */
/** `SERVICEACCOUNT_DIR` overrides where the token and CA are read: a node that runs pods as plain processes (the
 * project's node agent, cluster/node-agent/) has no mount namespace to put them at the standard path. */
export function inClusterConfig(env: Record<string, string | undefined>, dir = env['SERVICEACCOUNT_DIR'] || serviceAccountDir): InClusterConfig {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = Number(env['KUBERNETES_SERVICE_PORT'] ?? '443');
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a pod (set an API URL to run outside)');
  if (!Number.isInteger(port) || port <= 0) throw new Error(`KUBERNETES_SERVICE_PORT is not a port: ${env['KUBERNETES_SERVICE_PORT']}`);
  let ca: Buffer;
  try {
    ca = readFileSync(join(dir, 'ca.crt'));
  } catch (err) {
    throw new Error(`cannot read the cluster CA in ${dir} (is automountServiceAccountToken true?): ${(err as Error).message}`);
  }
  return { host, port, ca, tokenFile: join(dir, 'token') };
}

export function inClusterClient(config: InClusterConfig, limits: Limits = defaultLimits): KubeClient {
  return clientFor(
    {
      send: httpsRequest as typeof httpRequest,
      base: { host: config.host, port: config.port, ca: config.ca } as RequestOptions,
      pathPrefix: '',
      // Re-read the token on every call: projected tokens are rotated by the kubelet.
      token: () => readFileSync(config.tokenFile, 'utf8').trim(),
    },
    limits,
  );
}

/** Label selector (matchLabels + matchExpressions) in the `labelSelector=` query syntax. */
export function selectorToQuery(selector: unknown): string {
  if (typeof selector !== 'object' || selector === null) throw new Error('the StatefulSet has no spec.selector');
  const s = selector as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      default:
        throw new Error(`unknown selector operator ${JSON.stringify(e.operator)}`);
    }
  }
  // An empty selector would match every pod in the namespace: never delete on that.
  if (parts.length === 0) throw new Error('the StatefulSet selector is empty; refusing to select every pod');
  return parts.join(',');
}
