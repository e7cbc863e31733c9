// The node agent's Kubernetes API client: a kubeconfig's server, CA and client certificate, JSON requests, and
// list-then-watch streams. Written on undici rather than @kubernetes/client-node: the agent needs a dozen calls
// (its Node and Lease, its pods and their status, TokenRequest, claims and volumes) and one watch loop, and
// client-node would bring a generated client of every API group plus its own dependencies for that; undici is
// Node's own fetch implementation, and its Agent is what lets fetch present a client certificate and trust the
// cluster CA (global fetch takes no TLS options). The object types come from kubernetes-models (types only).
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, fetch } from 'undici';
import { parse as parseYaml } from 'yaml';

export interface KubeConfig {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

interface RawKubeConfig {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string } }[];
  users?: {
    name: string;
    user: { 'client-certificate'?: string; 'client-certificate-data'?: string; 'client-key'?: string; 'client-key-data'?: string; token?: string };
  }[];
}

/** Reads the current context of a kubeconfig file; relative file paths are relative to the file, as kubectl reads them. */
export function loadKubeConfig(file: string): KubeConfig {
  const raw = parseYaml(readFileSync(file, 'utf8')) as RawKubeConfig;
  const ctxName = raw['current-context'] ?? raw.contexts?.[0]?.name;
  const ctx = raw.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`${file}: no context ${JSON.stringify(ctxName)}`);
  const cluster = raw.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = raw.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`${file}: context ${ctxName} names no cluster with a server`);
  const dir = path.dirname(file);
  const material = (data: string | undefined, ref: string | undefined): Buffer | undefined =>
    data ? Buffer.from(data, 'base64') : ref ? readFileSync(path.resolve(dir, ref)) : undefined;
  const config: KubeConfig = { server: cluster.server.replace(/\/+$/, '') };
  const ca = material(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = material(user['client-certificate-data'], user['client-certificate']);
  const key = material(user['client-key-data'], user['client-key']);
  if (ca) config.ca = ca;
  if (cert) config.cert = cert;
  if (key) config.key = key;
  if (user.token) config.token = user.token;
  return config;
}

/** A non-2xx answer, carrying the API server's Status (reason, message). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly reason: string | undefined;
  /** The Status object's details (for 422 Invalid: `causes`, one per field the validation refused). */
  readonly details: { causes?: { reason?: string; message?: string; field?: string }[] } | undefined;
  constructor(method: string, urlPath: string, status: number, body: unknown) {
    const s = (typeof body === 'object' && body !== null ? body : {}) as { message?: string; reason?: string; details?: ApiError['details'] };
    super(`${method} ${urlPath}: ${status} ${s.message ?? JSON.stringify(body)?.slice(0, 300)}`);
    this.status = status;
    this.reason = s.reason;
    this.details = s.details;
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
const patchContentType: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  // Server-side apply; JSON is YAML, so the body is sent as it is.
  apply: 'application/apply-patch+yaml',
};

export class KubeApi {
  readonly config: KubeConfig;
  readonly #dispatcher: Agent;

  constructor(config: KubeConfig) {
    this.config = config;
    this.#dispatcher = new Agent({
      connect: { ...(config.ca ? { ca: config.ca } : {}), ...(config.cert ? { cert: config.cert } : {}), ...(config.key ? { key: config.key } : {}) },
      // Watches are long-lived: no body timeout (the server ends a watch itself after --min-request-timeout).
      bodyTimeout: 0,
      headersTimeout: 30_000,
    });
  }

  async close(): Promise<void> {
    await this.#dispatcher.close().catch(() => undefined);
  }

  #headers(contentType?: string): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (this.config.token) h['authorization'] = `Bearer ${this.config.token}`;
    if (contentType) h['content-type'] = contentType;
    return h;
  }

  /** One request; 2xx answers their JSON body, anything else throws an ApiError. */
  async request<T = unknown>(method: string, urlPath: string, body?: unknown, patch?: PatchType): Promise<T> {
    const contentType = body === undefined ? undefined : patch ? patchContentType[patch] : 'application/json';
    const res = await fetch(this.config.server + urlPath, {
      method,
      headers: this.#headers(contentType),
      dispatcher: this.#dispatcher,
      signal: AbortSignal.timeout(60_000),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (!res.ok) throw new ApiError(method, urlPath, res.status, parsed);
    return parsed as T;
  }

  get<T>(urlPath: string): Promise<T> {
    return this.request<T>('GET', urlPath);
  }

  /** GET that answers undefined for 404. */
  async find<T>(urlPath: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', urlPath);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * List, then watch from the list's resourceVersion, forever (until `signal` aborts): `onSync` gets every list
   * (initial and after a 410 Gone re-list), `onEvent` every watch event. This is client-go's reflector loop
   * (tools/cache/reflector.go ListAndWatch) without its cache: the agent keeps the state it needs itself.
   */
  async listWatch<T extends { metadata?: { resourceVersion?: string } }>(
    collectionPath: string,
    query: Record<string, string>,
    handlers: { onSync: (items: T[]) => void | Promise<void>; onEvent: (e: WatchEvent<T>) => void | Promise<void>; onError?: (err: Error) => void },
    signal: AbortSignal,
  ): Promise<void> {
    let rv: string | undefined;
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          const list = await this.get<{ items: T[]; metadata: { resourceVersion: string } }>(`${collectionPath}?${new URLSearchParams(query)}`);
          rv = list.metadata.resourceVersion;
          await handlers.onSync(list.items);
        }
        const params = new URLSearchParams({ ...query, watch: '1', resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: '300' });
        const res = await fetch(`${this.config.server}${collectionPath}?${params}`, { headers: this.#headers(), dispatcher: this.#dispatcher, signal });
        if (res.status === 410) {
          rv = undefined;
          await res.body?.cancel();
          continue;
        }
        if (!res.ok || !res.body) throw new ApiError('WATCH', collectionPath, res.status, await res.text());
        let buffered = '';
        const decoder = new TextDecoder();
        for await (const chunk of res.body) {
          buffered += decoder.decode(chunk as Uint8Array, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            const event = JSON.parse(line) as WatchEvent<T>;
            if (event.type === 'ERROR') {
              // 410 Gone inside the stream: our resourceVersion is too old, list again.
              const code = (event.object as { code?: number }).code;
              if (code === 410) rv = undefined;
              else throw new ApiError('WATCH', collectionPath, code ?? 500, event.object);
              break;
            }
            if (event.object.metadata?.resourceVersion) rv = event.object.metadata.resourceVersion;
            if (event.type !== 'BOOKMARK') await handlers.onEvent(event);
          }
          if (rv === undefined) break;
        }
      } catch (err) {
        if (signal.aborted) return;
        handlers.onError?.(err as Error);
        // A failed list or a broken stream: start again after a pause, as the reflector's back-off does.
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}
