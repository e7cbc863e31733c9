// A minimal HTTPS client for the API server and the components' health endpoints (node:https: client certificates
// without a dependency). Enough for the control plane's own start-up checks and its tests; not a Kubernetes client.
import https from 'node:https';
import http from 'node:http';
import type { ClientCredentials } from './pki.ts';

export interface Response {
  status: number;
  body: string;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Client certificate and CA; without it the server's certificate is not verified (health endpoints only). */
  tls?: ClientCredentials;
  timeoutMs?: number;
  contentType?: string;
}

export function request(url: string, options: RequestOptions = {}): Promise<Response> {
  const target = new URL(url);
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const tls = options.tls ? { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key } : { rejectUnauthorized: false };
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(target, { method: options.method ?? 'GET', headers, timeout: options.timeoutMs ?? 5000, ...(lib === https ? tls : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in ${options.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A client of one API server as one identity: JSON in, JSON out, a non-2xx answer thrown with its status. */
export class ApiClient {
  readonly server: string;
  readonly tls: ClientCredentials;

  constructor(server: string, tls: ClientCredentials) {
    this.server = server;
    this.tls = tls;
  }

  /** The raw answer, whatever its status. */
  send(method: string, path: string, body?: unknown, contentType?: string): Promise<Response> {
    return request(`${this.server}${path}`, { method, body, tls: this.tls, ...(contentType ? { contentType } : {}) });
  }

  async json<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    if (res.status < 200 || res.status > 299) throw new ApiError(method, path, res);
    return JSON.parse(res.body) as T;
  }

  get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  post<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    return this.json<T>('POST', path, body);
  }

  /** The answer's lines as they arrive (a watch: cluster/local/watch.ts), until the server ends it or `signal`. */
  stream(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.server}${path}`, { headers: { accept: 'application/json' }, ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, signal }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          res.resume();
          reject(new Error(`GET ${path}: ${res.statusCode}`));
          return;
        }
        let buffer = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          buffer += d;
          for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
            onLine(buffer.slice(0, nl));
            buffer = buffer.slice(nl + 1);
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: string;

  constructor(method: string, path: string, res: Response) {
    let message = res.body;
    try {
      message = (JSON.parse(res.body) as { message?: string }).message ?? res.body;
    } catch {}
    super(`${method} ${path}: ${res.status} ${message}`);
    this.status = res.status;
    this.body = res.body;
  }
}
