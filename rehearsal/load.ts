// Client load through the emulated Service: each worker sends `GET /` to the next endpoint, round robin, over
// keep-alive connections, and records what happened. A request with no endpoint to go to fails at once, as a
// Service with no ready pods refuses connections.
import http from 'node:http';
import type { Pod } from './pod.ts';

export interface Outcome {
  at: number;
  ok: boolean;
  pod?: string;
  visit?: number;
  error?: string;
}

export class Load {
  readonly outcomes: Outcome[] = [];
  readonly #endpoints: () => Pod[];
  readonly #agents = new Map<Pod, http.Agent>();
  #running = false;
  #workers: Promise<void>[] = [];
  #next = 0;

  constructor(endpoints: () => Pod[]) {
    this.#endpoints = endpoints;
  }

  start(connections: number): void {
    this.#running = true;
    this.#workers = Array.from({ length: connections }, () => this.#work());
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
    for (const agent of this.#agents.values()) agent.destroy();
  }

  async #work(): Promise<void> {
    while (this.#running) {
      const endpoints = this.#endpoints();
      const pod = endpoints[this.#next++ % Math.max(1, endpoints.length)];
      if (!pod) {
        this.outcomes.push({ at: performance.now(), ok: false, error: 'no ready endpoint' });
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      this.outcomes.push(await this.#visit(pod));
    }
  }

  #visit(pod: Pod): Promise<Outcome> {
    let agent = this.#agents.get(pod);
    if (!agent) this.#agents.set(pod, (agent = new http.Agent({ keepAlive: true })));
    return new Promise((resolve) => {
      const request = http.get(`${pod.url}/`, { agent, headers: { accept: 'application/json' }, timeout: 5000 }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const at = performance.now();
          if (response.statusCode !== 200) return resolve({ at, ok: false, pod: pod.name, error: `HTTP ${response.statusCode}` });
          const { visit } = JSON.parse(body) as { visit: number };
          resolve({ at, ok: true, pod: pod.name, visit });
        });
        response.on('error', (error) => resolve({ at: performance.now(), ok: false, pod: pod.name, error: error.message }));
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error: NodeJS.ErrnoException) => resolve({ at: performance.now(), ok: false, pod: pod.name, error: error.code ?? error.message }));
    });
  }
}
