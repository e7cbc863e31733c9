// A local stand-in for a misbehaving Kubernetes API server, for the hook tests: each answer is a Step a test picks
// (JSON, 429 with Retry-After, 500, a reset, a trickle, an endless body, a redirect, invalid JSON), over http or, with
// a certificate made by `openssl` for the test, https. Every timer and socket ends with close().
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type Step =
  | { json: unknown; status?: number; headers?: Record<string, string> }
  | { text: string; status?: number; headers?: Record<string, string> }
  /** Close the connection without an answer. */
  | { reset: true }
  /** Send the headers and this much of a JSON body, then close the connection. */
  | { cutAfterBytes: number; json: unknown }
  /** 200 and one byte every `everyMs`, never finishing. */
  | { trickleEveryMs: number }
  /** 200 and 1 MiB chunks for as long as the client reads; `contentLength` declares a size up front. */
  | { endless: true; contentLength?: number }
  | { redirect: string; status?: number };

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeApi {
  url: string;
  port: number;
  requests: Received[];
  /** Bytes written by `endless` and `trickle` answers. */
  streamedBytes: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost made with the `openssl` command in `dir`, or a sentence
 * saying why not (the caller skips with it, or fails under CI=true).
 */
export function selfSignedCert(dir: string): TlsFiles | string {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert],
      { stdio: 'pipe' },
    );
  } catch (err) {
    return `openssl could not make a test certificate (apt-get install openssl): ${(err as Error).message.split('\n')[0]}`;
  }
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

export async function startFakeApi(route: (req: Received, n: number) => Step | Promise<Step>, tls?: TlsFiles): Promise<FakeApi> {
  const timers = new Set<NodeJS.Timeout>();
  const api: FakeApi = { url: '', port: 0, requests: [], streamedBytes: 0, close: async () => {} };
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const received: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: await readBody(req) };
    api.requests.push(received);
    const step = await route(received, api.requests.length);
    apply(step, req, res);
  };
  const apply = (step: Step, req: IncomingMessage, res: ServerResponse) => {
    if ('reset' in step) {
      req.socket.destroy();
    } else if ('cutAfterBytes' in step) {
      const text = JSON.stringify(step.json);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, step.cutAfterBytes), () => req.socket.destroy());
    } else if ('trickleEveryMs' in step) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => {
        if (res.destroyed) return void clearInterval(t);
        api.streamedBytes++;
        res.write(' ');
      }, step.trickleEveryMs);
      timers.add(t);
      res.on('close', () => clearInterval(t));
      res.write('{');
    } else if ('endless' in step) {
      res.writeHead(200, { 'content-type': 'application/json', ...(step.contentLength === undefined ? {} : { 'content-length': String(step.contentLength) }) });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed) {
          api.streamedBytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.write('{"items":[');
      pump();
    } else if ('redirect' in step) {
      res.writeHead(step.status ?? 302, { location: step.redirect }).end();
    } else {
      const text = 'json' in step ? JSON.stringify(step.json) : step.text;
      res.writeHead(step.status ?? 200, { 'content-type': 'json' in step ? 'application/json' : 'text/plain', ...step.headers }).end(text);
    }
  };
  const server: Server = tls ? (createHttpsServer({ key: tls.key, cert: tls.cert }, handler) as unknown as Server) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.port = (server.address() as AddressInfo).port;
  api.url = `${tls ? 'https' : 'http'}://127.0.0.1:${api.port}`;
  api.close = async () => {
    for (const t of timers) clearInterval(t);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return api;
}

