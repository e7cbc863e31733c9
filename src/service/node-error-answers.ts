// The answers Node's HTTP server gives by itself, before any request reaches a listener: 400 for bytes its parser
// refuses (an HTTP/2 preface, TLS, a NUL, obs-fold, a duplicate Content-Length), 408 when headers or a body arrive
// too slowly, 431 for headers over the limit, 413 for chunk extensions over its limit (all from socketOnError in
// node/lib/_http_server.js, which writes a fixed response unless the server has a 'clientError' listener) and 417
// for an `Expect` it does not know (writeHead(417) in parserOnIncoming, unless there is a 'checkExpectation'
// listener). Those fixed answers carry no security header, are counted nowhere and logged nowhere. Here the same
// statuses are given with the security headers and a JSON body, counted through `observe` and logged through `warn`
// (rate-limited by the caller, src/service/rate-limited-log.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { SECURITY_HEADERS } from './security-headers.ts';

export interface NodeErrorOptions {
  observe?: (route: string, method: string, status: number) => void;
  warn?: (details: object, message: string) => void;
}

/** Status and metric route for a parser or timeout error, as Node itself maps them (socketOnError). */
export function classifyClientError(code: string | undefined): { status: number; route: string } | undefined {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, route: 'too-large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, route: 'too-large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, route: 'timeout' };
    default:
      // Anything else from the parser is a malformed request. Other errors (ECONNRESET, EPIPE...) are the connection
      // failing: there is nobody to answer.
      return code?.startsWith('HPE_') ? { status: 400, route: 'malformed' } : undefined;
  }
}

/** The raw bytes of a JSON error answer that closes the connection. */
export function rawAnswer(status: number, error: string): string {
  const body = JSON.stringify({ error });
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** What a client did wrong, in words, for the answer's body. */
const WHY: Record<number, string> = {
  400: 'malformed request',
  408: 'request not received in time',
  413: 'chunk extensions too large',
  431: 'request headers too large',
};

/** The 'clientError' listener: answers as Node would, with our headers, counted and logged. */
export function answerClientError(error: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket, options: NodeErrorOptions): void {
  const kind = classifyClientError(error.code);
  // Node writes its answer only when the socket is writable and no response on it has started (a half-written
  // response must not be followed by a second status line).
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (kind && socket.writable && !inFlight?.headersSent) {
    socket.end(rawAnswer(kind.status, WHY[kind.status] ?? 'bad request'));
    options.observe?.(kind.route, 'unknown', kind.status);
    options.warn?.({ status: kind.status, code: error.code, remote: socket.remoteAddress }, `answered ${kind.status} below the app: ${WHY[kind.status] ?? error.code}`);
  }
  socket.destroySoon();
}

/** The 'checkExpectation' listener: 417 for an Expect other than 100-continue, as Node does, with our headers. */
export function answerUnknownExpectation(req: IncomingMessage, res: ServerResponse, options: NodeErrorOptions): void {
  const body = JSON.stringify({ error: `expectation not supported: ${String(req.headers.expect).slice(0, 64)}` });
  res.writeHead(417, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', Connection: 'close' });
  res.end(body);
  options.observe?.('expectation', req.method ?? 'unknown', 417);
  options.warn?.({ status: 417, remote: req.socket.remoteAddress }, 'answered 417 below the app: unsupported Expect');
}
