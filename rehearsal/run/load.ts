// Client load through the emulated Service, balanced the way kube-proxy balances: per connection, not per request.
// kube-proxy (iptables and nftables modes) picks an endpoint when a connection is made and conntrack keeps the
// connection on it (https://kubernetes.io/docs/reference/networking/virtual-ips/): an endpoint leaving the Service
// does not move connections already open to it. Two kinds of clients:
// - `per-request` (the default): a new connection for every request, so each request follows the Service as it is
//   at that moment. It stands for a population of many short visits, where connections come and go all the time.
// - `keep-alive`: each client holds one connection and sends every request down it until the server closes it
//   (`Connection: close` while it drains, src/service/http-guard.ts) or it breaks; only then does it connect again,
//   to the next endpoint the Service routes to. A few clients that never let go: after a blue-green switch they stay
//   on the old colour until it is scaled down (measured on the local control plane, testing/cluster/blue-green.ts),
//   and a canary pod that replaced another gets none of them back, since they reconnected elsewhere while it started.
// A client with no endpoint to connect to fails at once, as a Service with no ready pods refuses connections.
import http from 'node:http';
import { visitOnce, type LoadOutcome } from '../../src/hooks/load.ts';

export interface Endpoint {
  name: string;
  version: string;
  url: string;
}

/** One answer or failure; `at` is performance.now() here (src/hooks/load.ts). */
export type Outcome = LoadOutcome;

/** How the clients hold their connections (see above). */
export type ClientConnections = 'keep-alive' | 'per-request';

export class Load {
  readonly outcomes: Outcome[] = [];
  readonly #endpoints: () => Endpoint[];
  readonly #connections: ClientConnections;
  readonly #agents: http.Agent[] = [];
  #running = false;
  #workers: Promise<void>[] = [];
  #next = 0;

  constructor(endpoints: () => Endpoint[], connections: ClientConnections = 'per-request') {
    this.#endpoints = endpoints;
    this.#connections = connections;
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
    for (const agent of this.#agents) agent.destroy();
  }

  async #work(intervalMs: number, offsetMs: number): Promise<void> {
    // This client's connection: its own agent (one socket), and the endpoint it is open to.
    const keepAlive = this.#connections === 'keep-alive';
    const agent = new http.Agent({ keepAlive, maxSockets: 1 });
    this.#agents.push(agent);
    let connectedTo: Endpoint | undefined;
    let next = performance.now() + offsetMs;
    while (this.#running) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // A slow answer delays the next request rather than bunching them up afterwards.
      next = Math.max(next + intervalMs, performance.now());
      if (!this.#running) break;
      if (!connectedTo) {
        const endpoints = this.#endpoints();
        connectedTo = endpoints[this.#next++ % Math.max(1, endpoints.length)];
      }
      if (!connectedTo) {
        this.outcomes.push({ at: performance.now(), ms: 0, ok: false, error: 'no ready endpoint' });
        continue;
      }
      const { outcome, closed } = await this.#visit(connectedTo, agent);
      this.outcomes.push(outcome);
      if (closed || !keepAlive) connectedTo = undefined;
    }
  }

  /** One request down the client's connection, labelled with the pod it was sent to and the version the rehearsal
   * gave that pod's template (v1, v2); `closed`: connect again. */
  async #visit(target: Endpoint, agent: http.Agent): Promise<{ outcome: Outcome; closed: boolean }> {
    const { outcome, closed } = await visitOnce(`${target.url}/`, agent, () => performance.now());
    return { outcome: { ...outcome, pod: target.name, version: target.version }, closed };
  }
}
