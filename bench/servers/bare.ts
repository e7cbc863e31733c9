// The cold-start reference: the smallest node:http server that answers 200. Bench-only.
import http from 'node:http';

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end('{"status":"ok"}');
});
server.listen(Number(process.env['PORT'] ?? 0), process.env['HOST'] ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
