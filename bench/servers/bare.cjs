// The same bare node:http server as bare.mjs, as CommonJS: reported beside the anchor, not a target. It shows what the
// anchor's own `import http from 'node:http'` costs: an ES module import of a built-in builds a facade over all its
// exports, and node:http's lazy undici getters (WebSocket and friends) then load undici, about 50 ms and 13 MiB
// (docs/benchmarks.md, "What made the start-up (and the bundle) faster"). The service pays for undici too, but for
// another reason: Hono and @hono/node-server use the web Request, Response and Headers, which Node implements with
// undici. Bench-only; see bench/run.ts.
const http = require('node:http');

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end('{"status":"ok"}');
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
