// The Node HTTP server the app runs on: its limits, the request guards and the Hono adapter. One function so the
// service and the benchmark's comparison servers are the same stack by construction.
import http from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { guardRequests } from './http-guard.ts';

/** HTTP limits: headers over 16 KiB get 431; a client that is slow to send headers gets 408 within seconds. */
const HTTP_LIMITS = {
  maxHeaderSize: 16 * 1024,
  headersTimeout: 5_000,
  requestTimeout: 10_000,
  keepAliveTimeout: 5_000,
  // Node checks the two timeouts above only this often (30 s by default), which would let slow clients linger.
  connectionsCheckingInterval: 1_000,
} satisfies http.ServerOptions;

export function createHttpServer(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { isDraining(): boolean; onError?: (error: unknown) => void },
): http.Server {
  const { onError } = options;
  const listener = getRequestListener(fetch, onError ? { errorHandler: (error) => onError(error) } : {});
  return http.createServer(HTTP_LIMITS, guardRequests(listener, { isDraining: options.isDraining }));
}
