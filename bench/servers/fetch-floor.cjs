// The bare CommonJS server (bare.cjs) plus the one thing every server on the web Fetch API pays for before it can
// answer: Node's Request, Response and Headers, which Node loads lazily from its bundled undici (with crypto, tls,
// http2, zlib, web streams and worker_threads behind it) on the first touch of any of them. Hono builds its responses
// with them and @hono/node-server reads globalThis.Headers when it is imported, so the service cannot start below
// this floor while it runs on that stack. Reported beside the anchors, not a target. Bench-only; see bench/run.ts.
const http = require('node:http');

void globalThis.Headers;

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end('{"status":"ok"}');
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
