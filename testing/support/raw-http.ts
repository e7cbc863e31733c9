// Raw TCP for HTTP tests: bytes a well-behaved client library would refuse to send (bad Host, `OPTIONS *`,
// pipelined requests, a client that never reads).
import net from 'node:net';

export interface RawResult {
  /** Everything the server sent, latin1. */
  response: string;
  /** The server closed the connection before `waitMs`. */
  closed: boolean;
  ms: number;
}

/** Sends `bytes` on a fresh connection (or lets `send` write to it, for clients that write in steps); resolves with
 * what came back once the server closes it (or after `waitMs`). */
export function rawExchange(port: number, bytes: string | ((socket: net.Socket) => void), waitMs = 3_000): Promise<RawResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, closed, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => (typeof bytes === 'string' ? socket.write(bytes) : bytes(socket)));
  });
}

/** The status codes of every response in a raw exchange, in order. */
export function statuses(response: string): number[] {
  return [...response.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
}
