// Client load through the emulated Service: each worker sends `GET /` to the next routed endpoint, round robin, over
// keep-alive connections, and records what happened and which version answered. A request with no endpoint to go to
// fails at once, as a Service with no ready pods refuses connections.
import http from 'node:http';

export interface Endpoint {
  name: string;
  version: string;
  url: string;
}

export interface Outcome {
  /** performance.now() when the answer (or the error) arrived. */
  at: number;
  ok: boolean;
  pod?: string;
  version?: string;
  visit?: number;
  error?: string;
}

export class Load {
  readonly outcomes: Outcome[] = [];
  readonly #endpoints: () => Endpoint[];
  readonly #agents = new Map<string, http.Agent>();
  #running = false;
  #workers: Promise<void>[] = [];
  #next = 0;

  constructor(endpoints: () => Endpoint[]) {
    this.#endpoints = endpoints;
  }

  /** `rate`: requests per second over all connections (paced, so the load leaves CPU to the pods it measures). */
  async start(connections: number, rate: number): Promise<void> {
    this.#running = true;
    const intervalMs = (connections / rate) * 1000;
    this.#workers = Array.from({ length: connections }, (_, i) => this.#work(intervalMs, (i * intervalMs) / connections));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
    for (const agent of this.#agents.values()) agent.destroy();
  }

  async #work(intervalMs: number, offsetMs: number): Promise<void> {
    let next = performance.now() + offsetMs;
    while (this.#running) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // A slow answer delays the next request rather than bunching them up afterwards.
      next = Math.max(next + intervalMs, performance.now());
      if (!this.#running) break;
      const endpoints = this.#endpoints();
      const target = endpoints[this.#next++ % Math.max(1, endpoints.length)];
      if (!target) {
        this.outcomes.push({ at: performance.now(), ok: false, error: 'no ready endpoint' });
        continue;
      }
      this.outcomes.push(await this.#visit(target));
    }
  }

  #visit(target: Endpoint): Promise<Outcome> {
    // One agent per process (URL), so a restarted container never inherits a dead keep-alive socket.
    let agent = this.#agents.get(target.url);
    if (!agent) this.#agents.set(target.url, (agent = new http.Agent({ keepAlive: true })));
    const base = { pod: target.name, version: target.version };
    return new Promise((resolve) => {
      const request = http.get(`${target.url}/`, { agent, headers: { accept: 'application/json' }, timeout: 5000 }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const at = performance.now();
          if (response.statusCode !== 200) return resolve({ at, ok: false, ...base, error: `HTTP ${response.statusCode}` });
          const { visit } = JSON.parse(body) as { visit: number };
          resolve({ at, ok: true, ...base, visit });
        });
        response.on('error', (error) => resolve({ at: performance.now(), ok: false, ...base, error: error.message }));
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error: NodeJS.ErrnoException) => resolve({ at: performance.now(), ok: false, ...base, error: error.code ?? error.message }));
    });
  }
}
