// Client load from inside a cluster: `node /app/hooks/load.js`, run by `rollcall compare --cluster` as a pod of the
// project's own image beside the StatefulSet it rehearses, so its requests take the path a cluster's clients take:
// the Service's ClusterIP, through kube-proxy. Only Node built-ins (the image has no node_modules).
//   LOAD_URL          the Service, e.g. http://10.96.0.12:80 (required); GET / with Accept: application/json
//   LOAD_CONNECTIONS  clients, each one keep-alive connection (default 4)
//   LOAD_RATE         requests per second over all clients (default 40)
//   LOAD_SECONDS      the longest it sends (default 3600): the pod stops by itself if nobody stops it
//   LOAD_PORT         where it answers GET /outcomes?from=N and POST /stop (default 8080)
//   LOAD_KEEPALIVE    true (default): each client keeps one connection, as a browser or a pooled HTTP client does;
//                     kube-proxy balances connections, not requests, so a client stays on the pod it reached until
//                     that connection closes (then it connects again and kube-proxy picks again); false: a new
//                     connection for every request (rehearsal/run/load.ts has the same two kinds for the model) A request with no answer within 5 s is a failure. Outcomes are read back by the rehearsal
// through the API server's pod proxy (/api/v1/namespaces/NS/pods/NAME:PORT/proxy/outcomes), times as epoch ms.
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export interface LoadOutcome {
  /** When the answer (or the failure) arrived, on the caller's clock (Date.now() here, in the load pod). */
  at: number;
  /** How long the client waited for it, from sending the request: a failure that took the 5 s timeout is 5 s in
   * which that client had no answer (rehearsal/run/figures.ts counts that time as down). */
  ms?: number;
  ok: boolean;
  pod?: string;
  version?: string;
  visit?: number;
  error?: string;
}

export interface LoadSettings {
  url: URL;
  connections: number;
  rate: number;
  seconds: number;
  port: number;
  keepAlive: boolean;
}

/** Reads the settings; throws naming the variable that is wrong. */
export function loadSettings(env: Record<string, string | undefined>): LoadSettings {
  const raw = env['LOAD_URL'];
  if (!raw) throw new Error('LOAD_URL is required: the Service to load, e.g. http://10.96.0.12:80');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`LOAD_URL "${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:') throw new Error(`LOAD_URL "${raw}": only http:// is supported`);
  const num = (name: string, fallback: number, min: number, max: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= min && n <= max)) throw new Error(`${name} "${v}": a number from ${min} to ${max}`);
    return n;
  };
  const keepAlive = env['LOAD_KEEPALIVE'] ?? 'true';
  if (keepAlive !== 'true' && keepAlive !== 'false') throw new Error(`LOAD_KEEPALIVE "${keepAlive}": true or false`);
  return {
    keepAlive: keepAlive === 'true',
    url,
    connections: Math.round(num('LOAD_CONNECTIONS', 4, 1, 256)),
    rate: num('LOAD_RATE', 40, 1, 10_000),
    seconds: num('LOAD_SECONDS', 3600, 1, 86_400),
    port: Math.round(num('LOAD_PORT', 8080, 1, 65_535)),
  };
}

/** The clients: started at once, paced so the load leaves CPU to the pods it measures. */
export class ServiceLoad {
  readonly outcomes: LoadOutcome[] = [];
  #running = true;
  readonly #workers: Promise<void>[];
  readonly #agents: http.Agent[] = [];
  readonly settings: LoadSettings;

  constructor(settings: LoadSettings) {
    this.settings = settings;
    const intervalMs = (settings.connections / settings.rate) * 1000;
    this.#workers = Array.from({ length: settings.connections }, (_, i) => {
      // One socket per client: the client keeps its connection (and so its pod) until it breaks.
      const agent = new http.Agent({ keepAlive: settings.keepAlive, maxSockets: 1 });
      this.#agents.push(agent);
      return this.#work(agent, intervalMs, (i * intervalMs) / settings.connections);
    });
  }

  get running(): boolean {
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
    for (const agent of this.#agents) agent.destroy();
  }

  async #work(agent: http.Agent, intervalMs: number, offsetMs: number): Promise<void> {
    let next = performance.now() + offsetMs;
    while (this.#running) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      next = Math.max(next + intervalMs, performance.now());
      if (!this.#running) break;
      this.outcomes.push(await this.#visit(agent));
    }
  }

  async #visit(agent: http.Agent): Promise<LoadOutcome> {
    return (await visitOnce(new URL('/', this.settings.url), agent)).outcome;
  }
}

/**
 * One `GET /` (Accept: application/json) down `agent`: the outcome, timed by `now`, and whether the connection is
 * closed after it (the server said `Connection: close`, or it broke), so a client holding one connection knows to
 * connect again. No answer within 5 s is a failure; an answer is read up to 64 KiB; a body that is not the service's
 * JSON names no pod. Shared with the rehearsal's load on the model (rehearsal/run/load.ts).
 */
export function visitOnce(url: URL | string, agent: http.Agent, now: () => number = Date.now): Promise<{ outcome: LoadOutcome; closed: boolean }> {
  const sent = now();
  const resolved = new Promise<{ outcome: LoadOutcome; closed: boolean }>((resolve) => {
    const request = http.get(url, { agent, headers: { accept: 'application/json' }, timeout: 5000 }, (response) => {
      let body = '';
      const closed = response.headers.connection === 'close';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 65_536) body += chunk;
      });
      response.on('end', () => {
        let answer: { visit?: unknown; pod?: unknown; version?: unknown } = {};
        try {
          answer = JSON.parse(body) as typeof answer;
        } catch {
          // Not JSON (a proxy's error page): no pod to name.
        }
        const who = { ...(typeof answer.pod === 'string' ? { pod: answer.pod } : {}), ...(typeof answer.version === 'string' ? { version: answer.version } : {}) };
        if (response.statusCode !== 200) return resolve({ outcome: { at: now(), ok: false, ...who, error: `HTTP ${response.statusCode}` }, closed });
        resolve({ outcome: { at: now(), ok: true, ...who, ...(typeof answer.visit === 'number' ? { visit: answer.visit } : {}) }, closed });
      });
      response.on('error', (error) => resolve({ outcome: { at: now(), ok: false, error: error.message }, closed: true }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ outcome: { at: now(), ok: false, error: error.code ?? error.message }, closed: true }));
  });
  return resolved.then(({ outcome, closed }) => ({ outcome: { ...outcome, ms: Math.round(outcome.at - sent) }, closed }));
}

/** GET /outcomes?from=N: the outcomes from index N on, and whether the clients still run; POST /stop: stops them. */
export function resultsServer(load: ServiceLoad): http.Server {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://load');
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/outcomes' && request.method === 'GET') {
      const from = Number(url.searchParams.get('from') ?? '0');
      if (!Number.isInteger(from) || from < 0) return json(400, { error: 'from: a whole number' });
      return json(200, { running: load.running, total: load.outcomes.length, outcomes: load.outcomes.slice(from, from + 5000) });
    }
    if (url.pathname === '/stop' && request.method === 'POST') {
      void load.stop().then(() => json(200, { running: false, total: load.outcomes.length }));
      return;
    }
    json(404, { error: 'GET /outcomes?from=N or POST /stop' });
  });
}

async function main(): Promise<number> {
  let settings: LoadSettings;
  try {
    settings = loadSettings(process.env);
  } catch (error) {
    console.error(`load: ${(error as Error).message}`);
    return 2;
  }
  const load = new ServiceLoad(settings);
  const server = resultsServer(load);
  await new Promise<void>((resolve) => server.listen(settings.port, resolve));
  console.log(`load: ${settings.connections} clients, ${settings.rate} requests/s to ${settings.url.href}; outcomes on :${settings.port}/outcomes`);
  // Bounded: it stops sending after LOAD_SECONDS and keeps answering until the pod is deleted (SIGTERM).
  const limit = setTimeout(() => void load.stop(), settings.seconds * 1000);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  clearTimeout(limit);
  await load.stop();
  server.close();
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
