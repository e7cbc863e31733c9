// A tiny reverse proxy that plays the Service in browser tests: the page's origin, forwarding every request to the
// one backend it currently points at. `switchTo` moves it to another server, as the Service's endpoints move when
// a rollout replaces pods; requests already on their way finish on the old one. Closed after the test.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';

export interface SwitchProxy {
  url: string;
  switchTo(target: string): void;
  /** Requests forwarded, per backend URL, and those that could not reach one. */
  forwarded: Map<string, number>;
  errors: string[];
}

export async function startSwitchProxy(initial: string): Promise<SwitchProxy> {
  let target = new URL(initial);
  const forwarded = new Map<string, number>();
  const errors: string[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const to = target;
    forwarded.set(to.origin, (forwarded.get(to.origin) ?? 0) + 1);
    const upstream = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      errors.push(`${req.method} ${req.url} -> ${to.origin}: ${error.message}`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  after(() => {
    agent.destroy();
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    switchTo: (next) => {
      target = new URL(next);
    },
    forwarded,
    errors,
  };
}
