// The cold-start and idle-memory anchor: the smallest node:http server that answers 200, in plain JavaScript (no
// type stripping, no dependencies), so the ratios against it measure what the service adds to Node itself.
// Bench-only; see bench/run.ts.
import http from 'node:http';

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end('{"status":"ok"}');
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
