// Node-level request guards that a fetch handler cannot express:
// - Body limit. No route reads a body, but Node would still buffer and discard whatever a client sends, and for
//   GET/HEAD the Hono adapter never exposes the body to the app at all, so the limit is enforced here, on the raw
//   stream, for declared lengths and for chunked bodies alike.
// - Draining. Once shutdown starts, responses carry `Connection: close` so keep-alive clients reconnect to
//   another instance instead of reusing a socket that is about to close.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** No endpoint takes a body; 1 KiB leaves room for clients that send an empty form or a small JSON by habit. */
export const BODY_LIMIT_BYTES = 1024;

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

function refuse(res: ServerResponse, status: number, error: string): void {
  const body = JSON.stringify({ error });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

export function guardRequests(listener: Listener, options: { isDraining(): boolean; bodyLimit?: number }): Listener {
  const limit = options.bodyLimit ?? BODY_LIMIT_BYTES;
  return (req, res) => {
    if (options.isDraining()) res.setHeader('Connection', 'close');
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      refuse(res, 413, `request body over ${limit} bytes`);
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
        req.pause();
        refuse(res, 413, `request body over ${limit} bytes`);
      }
    });
    req.once('end', () => {
      if (!refused) listener(req, res);
    });
    return undefined;
  };
}
