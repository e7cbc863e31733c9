// Node-level request guards that a fetch handler cannot express:
// - Body limit. No route reads a body, but Node would still buffer and discard whatever a client sends, and for
//   GET/HEAD the Hono adapter never exposes the body to the app at all, so the limit is enforced here, on the raw
//   stream, for declared lengths and for chunked bodies alike.
//   A refused request is answered at once but its connection closes only after the rest of the body has been read
//   and discarded (bounded): closing a socket with unread input makes the kernel send RST, and a client still
//   writing its body then gets EPIPE/ECONNRESET and never reads the 413 (seen in testing/faults/http-abuse.ts).
// - Draining. Once shutdown starts, responses carry `Connection: close` so keep-alive clients reconnect to
//   another instance instead of reusing a socket that is about to close.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** No endpoint takes a body; 1 KiB leaves room for clients that send an empty form or a small JSON by habit. */
export const BODY_LIMIT_BYTES = 1024;

/** Lingering close after a refusal: read and discard at most this much more, for at most this long. */
const DISCARD_LIMIT_BYTES = 64 * 1024;
const DISCARD_TIMEOUT_MS = 2_000;

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  const body = JSON.stringify({ error });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  // The whole answer goes out now; ending the response (which closes the socket) waits for the body to be drained.
  res.write(body);
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

export function guardRequests(listener: Listener, options: { isDraining(): boolean; bodyLimit?: number }): Listener {
  const limit = options.bodyLimit ?? BODY_LIMIT_BYTES;
  return (req, res) => {
    if (options.isDraining()) res.setHeader('Connection', 'close');
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      refuse(req, res, 413, `request body over ${limit} bytes`);
      return;
    }
    if (req.headers['transfer-encoding'] === undefined) return listener(req, res);
    // Chunked: the size is only known by reading. Read up to the limit, then hand over an already-ended request.
    let received = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit && !refused) {
        refused = true;
        refuse(req, res, 413, `request body over ${limit} bytes`);
      }
    });
    req.once('end', () => {
      if (!refused) listener(req, res);
    });
    return undefined;
  };
}
