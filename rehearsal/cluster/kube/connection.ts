// How the rehearsal talks to a real cluster: `kubectl proxy` for reads, watches-by-polling, deletes and the pod proxy,
// and `kubectl apply --server-side` for what a user applies. kubectl and its proxy handle every way a kubeconfig
// authenticates (client certificates, tokens, exec plugins of cloud providers), so a kind cluster, a cloud cluster and
// the local control plane are reached by one code path with no auth code of ours.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { kubectlFlags, runKubectl, type Kubectled, type KubectlTarget } from '../../../cluster/local/kubectl.ts';

export type KubeTarget = KubectlTarget;

export class KubeRequestError extends Error {
  override name = 'KubeRequestError';
  readonly status: number;
  constructor(method: string, path: string, status: number, body: string) {
    let message = body.slice(0, 300);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // Not a Status object: the raw text is the message.
    }
    super(`${method} ${path}: HTTP ${status}: ${message}`);
    this.status = status;
  }
}

export class KubeConnection {
  readonly #proxy: ChildProcess;
  readonly #base: string;
  readonly target: KubeTarget;

  private constructor(proxy: ChildProcess, base: string, target: KubeTarget) {
    this.#proxy = proxy;
    this.#base = base;
    this.target = target;
  }

  /** Starts `kubectl proxy` on a free loopback port; rejects with kubectl's own words when it cannot. */
  static async open(target: KubeTarget, timeoutMs = 30_000): Promise<KubeConnection> {
    const proxy = spawn('kubectl', [...kubectlFlags(target), 'proxy', '--port=0', '--address=127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proxy.stderr!.on('data', (d: Buffer) => (stderr += d));
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kubectl proxy did not start within ${timeoutMs / 1000} s: ${stderr.trim()}`)), timeoutMs);
      proxy.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Error(error.code === 'ENOENT' ? 'kubectl is not installed: --cluster talks to the cluster through kubectl' : error.message));
      });
      proxy.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`kubectl proxy exited (${code}): ${stderr.trim()}`));
      });
      createInterface({ input: proxy.stdout! }).on('line', (line) => {
        const m = /Starting to serve on (\S+)/.exec(line);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(`http://${m[1]}`);
        }
      });
    });
    const connection = new KubeConnection(proxy, base, target);
    // The proxy answers before it knows whether the credentials work: ask once, so a wrong context fails here.
    await connection.get('/version');
    return connection;
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const response = await fetch(this.#base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok) throw new KubeRequestError(method, path, response.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The proxy's address: API paths appended to it reach the API server with the user's credentials. */
  get baseUrl(): string {
    return this.#base;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** The object, or undefined when the API server answers 404. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof KubeRequestError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** The answer's lines as they arrive (a watch: cluster/local/watch.ts), until the server ends it or `signal`. */
  async stream(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    const response = await fetch(this.#base + path, { signal });
    if (!response.ok || !response.body) throw new KubeRequestError('GET', path, response.status, await response.text());
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    }
  }

  /** `kubectl <args>` against this target, `input` on its stdin. */
  kubectl(args: readonly string[], input = ''): Promise<Kubectled> {
    return runKubectl(this.target, args, input);
  }

  close(): void {
    this.#proxy.kill();
  }
}
