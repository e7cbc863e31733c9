// The Node HTTP server the app runs on: its limits, the request guards and the Hono adapter. One function so the
// service and the benchmark's comparison servers are the same stack by construction.
import http from 'node:http';
import { getRequestListener, RequestError } from '@hono/node-server';
import { limitConnections, type ConnectionTracker } from './connection-limit.ts';
import { guardRequests } from './http-guard.ts';
import { answerClientError, answerUnknownExpectation } from './node-error-answers.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

/** HTTP limits: headers over 16 KiB get 431; a client that is slow to send headers gets 408 within seconds. */
const HTTP_LIMITS = {
  maxHeaderSize: 16 * 1024,
  headersTimeout: 5_000,
  requestTimeout: 10_000,
  keepAliveTimeout: 5_000,
  // Node checks the two timeouts above only this often (30 s by default), which would let slow clients linger.
  connectionsCheckingInterval: 1_000,
} satisfies http.ServerOptions;

export interface HttpServerOptions {
  isDraining(): boolean;
  /** A request the app failed on (it has its own 500 handler, so this is a bug). */
  onError?: (error: unknown) => void;
  /** Answers given below the app (400 for a request that cannot be routed, 413, 503, closed abusers): route label, method, status. */
  observe?: (route: string, method: string, status: number) => void;
  /** One short line per request that could not be routed or socket closed for abuse; never a stack. Rate-limit it
   * (src/service/rate-limited-log.ts): clients decide how often it is called. */
  warn?: (details: object, message: string) => void;
  /** Open connections at most (src/service/connection-limit.ts); unlimited when not given. */
  maxConnections?: number;
  /** A connection closed at that limit: the oldest idle one, or the new one when every open one is working. */
  onConnectionLimit?: (which: 'oldest-idle' | 'new', open: number) => void;
}

const trackers = new WeakMap<http.Server, ConnectionTracker>();

/** Connections open now on a server made here with a connection limit (for a gauge). */
export const openConnections = (server: http.Server): number | undefined => trackers.get(server)?.open;

// The adapter turns each IncomingMessage into a Request; a request it cannot (no or invalid Host, `OPTIONS *`, a
// backslash in the path, an invalid absolute URL) reaches its `errorHandler` as a RequestError before the app
// runs. Returning nothing there leaves the socket open with no answer, so the answer is given here: 400, the
// connection closed, no visit (the app never saw it), one short log line and a count under route "invalid".
function badRequest(error: RequestError, options: HttpServerOptions): Response {
  options.warn?.({ problem: error.message }, 'request cannot be routed: answered 400');
  options.observe?.('invalid', 'unknown', 400);
  return new Response(JSON.stringify({ error: `bad request: ${error.message}` }), {
    status: 400,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Connection: 'close' },
  });
}

export function createHttpServer(fetch: (request: Request) => Response | Promise<Response>, options: HttpServerOptions): http.Server {
  const listener = getRequestListener(fetch, {
    errorHandler: (error) => {
      if (error instanceof RequestError) return badRequest(error, options);
      options.onError?.(error);
      return new Response(JSON.stringify({ error: 'internal error' }), {
        status: 500,
        headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json', Connection: 'close' },
      });
    },
  });
  const server = http.createServer(HTTP_LIMITS);
  const reporting = { ...(options.observe && { observe: options.observe }), ...(options.warn && { warn: options.warn }) };
  const tracker =
    options.maxConnections === undefined ? undefined : limitConnections(server, { max: options.maxConnections, ...(options.onConnectionLimit && { onClosed: options.onConnectionLimit }) });
  if (tracker) trackers.set(server, tracker);
  server.on('request', guardRequests(listener, { isDraining: options.isDraining, ...reporting, ...(tracker && { connections: tracker }) }));
  // Node's own answers (400, 408, 413, 431, 417) with our headers, counted and logged (src/service/node-error-answers.ts).
  server.on('clientError', (error, socket) => answerClientError(error, socket as import('node:net').Socket, reporting));
  server.on('checkExpectation', (req, res) => answerUnknownExpectation(req, res, reporting));
  return server;
}
