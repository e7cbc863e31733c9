// Node-level request guards that a fetch handler cannot express:
// - Body limit. No route reads a body, but Node would still buffer and discard whatever a client sends, and for
//   GET/HEAD the Hono adapter never exposes the body to the app at all, so the limit is enforced here, on the raw
//   stream, for declared lengths and for chunked bodies alike.
//   A refused request is answered at once but its connection closes only after the rest of the body has been read
//   and discarded (bounded): closing a socket with unread input makes the kernel send RST, and a client still
//   writing its body then gets EPIPE/ECONNRESET and never reads the 413 (seen in testing/faults/http-abuse.ts).
//   Nothing pipelined behind a refused request runs: its answer says `Connection: close`, so the client knows the
//   rest was not processed and must retry it on a new connection (RFC 9112 §9.6).
// - Pipelining without reading. Node parses every request of a received chunk (64 KiB can hold ~1700 tiny GETs)
//   and keeps parsing while earlier answers pile up unread in the socket's buffer; 12 such clients took RSS from
//   110 to 537 MiB in 8 s. So each socket may have at most PAUSE_AT unanswered requests before we stop reading
//   from it; one that still holds more than CLOSE_AT unanswered requests or SOCKET_BUFFER_LIMIT buffered bytes is
//   closed (its extra requests are dropped with it), and once all sockets together hold GLOBAL_LIMIT requests in
//   progress, new ones get 503 and `Connection: close` instead of running.
// - Work in progress is only what has fully arrived. A request whose body is still arriving (a chunked `GET /`
//   trickling 56 bytes every 10 s) is not work: counted from its headers, 2,060 such connections held every route at
//   503 for 36 s, the probes included, until Node's request timeout dropped them. So a request with a body is read
//   to its end (up to the body limit) before it counts or runs, and the probes (/healthz, /readyz: no disk, no body)
//   are never refused by the global limit: they answer whatever else is queued.
// - Draining. Once shutdown starts, responses carry `Connection: close` so keep-alive clients reconnect to
//   another instance instead of reusing a socket that is about to close.
// Every answer given here carries the same security headers as the app's, and is reported through `observe`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SECURITY_HEADERS } from './security-headers.ts';

/** No endpoint takes a body; 1 KiB leaves room for clients that send an empty form or a small JSON by habit. */
export const BODY_LIMIT_BYTES = 1024;

/** Lingering close after a refusal: read and discard at most this much more, for at most this long. */
const DISCARD_LIMIT_BYTES = 64 * 1024;
const DISCARD_TIMEOUT_MS = 2_000;

/** Per socket: stop reading at this many unanswered requests (browsers never pipeline; tools rarely go deeper). */
export const PAUSE_AT = 16;
/**
 * Per socket: close it at this many unanswered requests. Answers to requests pipelined in one burst all count until
 * Node flushes them, even for a client that reads, so this is above what real clients pipeline; it bounds how much
 * of one received chunk runs (RSS under the 12-connection flood: max 180-189 MiB at 64, 195-203 MiB at 256).
 */
export const CLOSE_AT = 64;
/** ... or past this many response bytes the client has not read. */
export const SOCKET_BUFFER_LIMIT = 1024 * 1024;
/** A paused socket whose client reads nothing for this long is closed (it holds our answers in memory). */
export const STALL_MS = 10_000;
/** All sockets together: requests in progress (fully arrived, not yet answered) past this get 503. */
export const GLOBAL_LIMIT = 2048;
/** Answered whatever the load: the kubelet restarts a pod whose liveness probe fails, and takes it out of service
 * when readiness does; neither must fail because other clients keep the server busy. */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface GuardOptions {
  isDraining(): boolean;
  bodyLimit?: number;
  /** GLOBAL_LIMIT unless given (tests). */
  globalLimit?: number;
  /** Called once per answer given here (route label, method, status) and per closed abuser (status 0). */
  observe?: (route: string, method: string, status: number) => void;
  /** One short line per socket closed for abuse. */
  warn?: (details: object, message: string) => void;
  /** Told when a request on a socket has fully arrived and runs, and when its answer is done (connection-limit.ts). */
  connections?: { busy(socket: Socket): void; done(socket: Socket): void };
}

/** A request that carries a body: it has not fully arrived until that body has. */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const declared = req.headers['content-length'];
  return declared !== undefined && declared !== '0';
}

const isProbe = (req: IncomingMessage): boolean => (req.method === 'GET' || req.method === 'HEAD') && PROBE_PATHS.has((req.url ?? '').split('?', 1)[0]!);

interface SocketState {
  unanswered: number;
  /** A request on this socket was refused: nothing after it runs. */
  refused: boolean;
  closed: boolean;
}

/** Answers from the guard itself: JSON, security headers, and the connection closes after it. */
export function answer(res: ServerResponse, status: number, error: string): string {
  const body = JSON.stringify({ error });
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    Connection: 'close',
  });
  return body;
}

function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  // The whole answer goes out now; ending the response (which closes the socket) waits for the body to be drained.
  res.write(answer(res, status, error));
  let discarded = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    req.off('data', onData);
    res.end();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_LIMIT_BYTES) end();
  };
  const timer = setTimeout(end, DISCARD_TIMEOUT_MS);
  if (req.complete) return end();
  req.on('data', onData);
  req.once('end', end);
  req.once('close', end);
  req.resume();
}

/** Reads again once the client has taken most of what it was sent. */
function resumeIfCaughtUp(socket: Socket, state: SocketState): void {
  if (state.closed || socket.destroyed || !socket.isPaused()) return;
  // The stall timeout stays: it measures inactivity, which a reading client keeps resetting, and node:http sets its
  // own keep-alive timeout again after the next answer.
  if (state.unanswered < PAUSE_AT / 2 && socket.writableLength < socket.writableHighWaterMark) socket.resume();
}

export function guardRequests(listener: Listener, options: GuardOptions): Listener {
  const limit = options.bodyLimit ?? BODY_LIMIT_BYTES;
  const globalLimit = options.globalLimit ?? GLOBAL_LIMIT;
  const sockets = new WeakMap<Socket, SocketState>();
  let unansweredTotal = 0;

  const stateOf = (socket: Socket): SocketState => {
    let state = sockets.get(socket);
    if (!state) {
      state = { unanswered: 0, refused: false, closed: false };
      sockets.set(socket, state);
      const current = state;
      socket.once('close', () => (current.closed = true));
      // Node resumes a socket it paused itself on 'drain'; ours needs the same once the client has read enough.
      socket.on('drain', () => resumeIfCaughtUp(socket, current));
    }
    return state;
  };

  const closeAbuser = (req: IncomingMessage, state: SocketState, why: string) => {
    state.closed = true;
    options.observe?.('closed', req.method ?? '', 0);
    options.warn?.({ remote: req.socket.remoteAddress, unanswered: state.unanswered, buffered: req.socket.writableLength }, `closed a connection: ${why}`);
    req.socket.destroy();
  };

  const refuseBody = (req: IncomingMessage, res: ServerResponse, state: SocketState) => {
    state.refused = true;
    options.observe?.('refused', req.method ?? '', 413);
    refuse(req, res, 413, `request body over ${limit} bytes`);
  };

  return (req, res) => {
    const socket = req.socket;
    const state = stateOf(socket);
    // Behind a refusal or on a socket being closed: not processed, not answered (the connection is closing).
    if (state.refused || state.closed || socket.destroyed) {
      if (!req.complete) req.resume();
      return undefined;
    }
    if (state.unanswered >= CLOSE_AT || socket.writableLength > SOCKET_BUFFER_LIMIT) {
      closeAbuser(req, state, 'too many pipelined requests whose answers were not read');
      return undefined;
    }
    state.unanswered++;
    let inProgress = false;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      state.unanswered--;
      if (inProgress) {
        unansweredTotal--;
        options.connections?.done(socket);
      }
      resumeIfCaughtUp(socket, state);
    };
    res.once('finish', settle);
    res.once('close', settle);
    if (state.unanswered >= PAUSE_AT && !socket.isPaused()) {
      socket.pause();
      // With no 'timeout' listener of ours, node:http destroys a socket that times out (server.timeout is 0).
      socket.setTimeout(STALL_MS);
    }

    if (options.isDraining()) res.setHeader('Connection', 'close');
    // The request has fully arrived: from now on it is work in progress.
    const run = () => {
      if (settled) return undefined;
      if (unansweredTotal >= globalLimit && !isProbe(req)) {
        state.refused = true;
        options.observe?.('overloaded', req.method ?? '', 503);
        res.setHeader('Retry-After', '1');
        res.end(answer(res, 503, 'too many requests in progress'));
        return undefined;
      }
      inProgress = true;
      unansweredTotal++;
      options.connections?.busy(socket);
      return listener(req, res);
    };
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      refuseBody(req, res, state);
      return undefined;
    }
    if (!hasBody(req)) return run();
    // A body (declared or chunked): read it up to the limit, then hand over an already-ended request. Until its end
    // arrives it is not in progress, whatever its headers said.
    let received = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit && !refused) {
        refused = true;
        refuseBody(req, res, state);
      }
    });
    req.once('end', () => {
      if (!refused) run();
    });
    return undefined;
  };
}
