// A minimal Kubernetes API client for the hook commands: JSON in, JSON out, nothing else.
// Runs from the app image, so only Node built-ins. Two transports:
//  - in cluster: the pod's ServiceAccount token and CA (/var/run/secrets/kubernetes.io/serviceaccount) and
//    KUBERNETES_SERVICE_HOST/PORT. This one is written on node:https by hand because global fetch cannot take a
//    custom CA without undici's dispatcher options (undici is not importable from the image), and the API
//    server's certificate is signed by the cluster CA, not a public one.
//  - a base URL (tests' stand-in server, or `kubectl proxy` at http://127.0.0.1:8001): plain fetch.
// https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/#without-using-a-proxy
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';

export interface KubeResponse {
  status: number;
  body: unknown;
}

export interface KubeClient {
  /** `path` starts with /api or /apis and may carry a query string. */
  request(method: 'GET' | 'DELETE', path: string, body?: unknown): Promise<KubeResponse>;
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Thrown for a non-2xx answer, with the Status message the API server sends. */
export class KubeError extends Error {
  override name = 'KubeError';
  readonly status: number;
  constructor(method: string, path: string, res: KubeResponse) {
    const detail =
      typeof res.body === 'object' && res.body !== null && typeof (res.body as { message?: unknown }).message === 'string'
        ? (res.body as { message: string }).message
        : JSON.stringify(res.body)?.slice(0, 200);
    super(`${method} ${path} answered ${res.status}: ${detail}`);
    this.status = res.status;
  }
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Talks to `baseUrl` with fetch; an optional bearer token. No custom CA (http or publicly trusted https only). */
export function urlClient(baseUrl: string, token?: string): KubeClient {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    async request(method, path, body) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token) headers['authorization'] = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(base + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      return { status: res.status, body: parseBody(await res.text()) };
    },
  };
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

export function inClusterClient(config: InClusterConfig): KubeClient {
  return {
    request(method, path, body) {
      // Re-read the token on every call: projected tokens are rotated by the kubelet.
      const token = readFileSync(config.tokenFile, 'utf8').trim();
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise<KubeResponse>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: config.host,
            port: config.port,
            method,
            path,
            ca: config.ca,
            timeout: 30_000,
            headers: {
              accept: 'application/json',
              authorization: `Bearer ${token}`,
              ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')) }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
  };
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
