// `npm run bench`: how close durable visits come to the framework's ceiling. Reported, never asserted
// in `npm test`: the figures depend on the machine, only the ratios from one run are meaningful.
//
// One run starts every server once on loopback and loads them alternately (round-robin, the order rotating each
// round) so that all variants see the same machine state:
//   ceiling  the no-op route: GET /healthz on the service's own stack (bench/servers/variant.ts, VARIANT=noop);
//   memory   GET / on that stack with an in-memory counter: a visit without the disk (diagnostic);
//   durable  GET / on the real service as `npm start` runs it (node src/server.ts): the durable, group-committed visit;
//   built    GET / on the image's entry (scripts/build.ts bundle, node server.js), built into a temp dir first;
//   naive    GET / with one durable atomic write per visit, no batching (VARIANT=naive).
// Load comes from wrk when it is on PATH (one thread: it takes little CPU from the two cores the server runs on),
// otherwise from autocannon used as a library in this process (bench/load.ts); --loader picks one. Each measurement
// is a short warm-up, then a run of about --duration seconds. After each durable run the bench checks that
// `visits.json` grew by exactly the number of visits the server acknowledged (its own http_requests_total), and
// that the client received all of them (autocannon) or all but at most one per connection that wrk left in flight.
// The throughput ratios of the targets are taken per round (durable and ceiling of the same round) and their
// median reported, so that a slow moment of the shared machine does not land on one variant only.
// Cold start: spawn → first 200 from /healthz, median of several, with the CPU time the process had used by then and
// its idle RSS (VmRSS 500 ms after that first 200), for the sources (`npm start`'s command), the built entry (the
// image's) and two anchors, all alternating so they see the same machine state: a bare node:http server in plain
// CommonJS (bench/servers/bare.cjs), the floor for a Node HTTP service and the one the targets are set against, and
// the same server as an ES module (bench/servers/bare.mjs), whose `import http from 'node:http'` builds a facade over
// every export and loads undici through its getters; plus, reported only, the CommonJS server with the web Fetch API
// loaded (bench/servers/fetch-floor.cjs): the floor of any server on Hono's stack.
// The connection curve: durable visits on the built entry and the no-op ceiling at 1 to 1024 connections (a fresh
// server per point, so RSS growth per connection is measured from that server's idle RSS), and idle RSS with 1, 100
// and 1000 idle keep-alive connections; drawn as an SVG (bench/svg-chart.ts) for docs/benchmarks.md.
//
// Options: --parts throughput,cold,curve,idle (all) --duration S (5) --warmup S (1) --rounds N (3) --conns 1,16,64
//          --variants ceiling,memory,durable,built,naive --cold N (11 repetitions; 0 skips)
//          --curve 1,16,64,256,1024 --curve-duration S (3) --idle 1,100,1000 --svg FILE (docs/img/bench-connections.svg)
//          --loader auto|wrk|autocannon --json FILE (raw results)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pickLoader } from './load.ts';
import { renderChart } from './svg-chart.ts';
import { build, warmCompileCache } from '../scripts/build.ts';
import { IMAGE_ENTRY, serviceNodeFlags } from '../scripts/lib/service-command.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    parts: { type: 'string', default: 'throughput,cold,curve,idle' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    conns: { type: 'string', default: '1,16,64' },
    variants: { type: 'string', default: 'ceiling,memory,durable,built,naive' },
    cold: { type: 'string', default: '11' },
    curve: { type: 'string', default: '1,16,64,256,1024' },
    'curve-duration': { type: 'string', default: '3' },
    idle: { type: 'string', default: '1,100,1000' },
    svg: { type: 'string', default: path.join(root, 'docs', 'img', 'bench-connections.svg') },
    json: { type: 'string' },
    loader: { type: 'string', default: 'auto' },
  },
});
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = args.conns.split(',').map(Number);
const PARTS = new Set(args.parts.split(','));
for (const part of PARTS) if (!['throughput', 'cold', 'curve', 'idle'].includes(part)) throw new Error(`--parts: unknown part ${part}`);
const COLD_REPS = PARTS.has('cold') ? Number(args.cold) : 0;
const CURVE = PARTS.has('curve') ? args.curve.split(',').map(Number) : [];
const CURVE_DURATION_S = Number(args['curve-duration']);
const IDLE = PARTS.has('idle') ? args.idle.split(',').map(Number) : [];
const loader = await pickLoader(args.loader);

type ServerKind = 'service' | 'built' | 'noop' | 'naive' | 'bare' | 'bare-cjs' | 'fetch-floor';
interface Variant {
  name: string;
  server: ServerKind;
  path: string;
  /** Whether the route writes visits.json: then the file must grow by exactly the 2xx count. */
  durable: boolean;
}
const ALL_VARIANTS: Variant[] = [
  { name: 'ceiling', server: 'noop', path: '/healthz', durable: false },
  { name: 'memory', server: 'noop', path: '/', durable: false },
  { name: 'durable', server: 'service', path: '/', durable: true },
  { name: 'built', server: 'built', path: '/', durable: true },
  { name: 'naive', server: 'naive', path: '/', durable: true },
];
const VARIANTS = PARTS.has('throughput') ? ALL_VARIANTS.filter((v) => args.variants.split(',').includes(v.name)) : [];

interface Server {
  kind: ServerKind;
  child: ChildProcess;
  port: number;
  dataDir: string;
}

interface Measurement {
  variant: string;
  connections: number;
  round: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Highest VmRSS of the server process seen during the run, in MiB. */
  rssMiB: number;
  /** Server CPU time / wall time during the run (1.0 = one core). */
  serverCpu: number;
  /** visits.json delta, for durable variants. */
  fileDelta?: number;
  batchAvg?: number;
  cycleMs?: number;
}

// ---------------------------------------------------------------------------------------------- process helpers

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// The image's entry, bundled once per run into a temp dir with no node_modules above it, with its compile cache
// warmed as the Dockerfile does and used as the image uses it (NODE_COMPILE_CACHE).
const builtDir = mkdtempSync(path.join(os.tmpdir(), 'rollcall-bench-built-'));
process.on('exit', () => rmSync(builtDir, { recursive: true, force: true }));
await build(builtDir);
const builtCompileCache = await warmCompileCache(builtDir);

function serverCommand(kind: ServerKind): { script: string; env: Record<string, string> } {
  const serviceEnv = { LOG_LEVEL: 'warn', SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_TIMEOUT_MS: '5000' };
  switch (kind) {
    case 'service':
      return { script: 'src/server.ts', env: serviceEnv };
    case 'built':
      return { script: path.join(builtDir, IMAGE_ENTRY), env: { ...serviceEnv, NODE_COMPILE_CACHE: builtCompileCache } };
    case 'noop':
      return { script: 'bench/servers/variant.ts', env: { VARIANT: 'noop' } };
    case 'naive':
      return { script: 'bench/servers/variant.ts', env: { VARIANT: 'naive' } };
    case 'bare':
      return { script: 'bench/servers/bare.mjs', env: {} };
    case 'bare-cjs':
      return { script: 'bench/servers/bare.cjs', env: {} };
    case 'fetch-floor':
      return { script: 'bench/servers/fetch-floor.cjs', env: {} };
  }
}

async function startServer(kind: ServerKind): Promise<Server & { startMs: number; startCpuMs: number }> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `rollcall-bench-${kind}-`));
  const { script, env } = serverCommand(kind);
  const started = performance.now();
  // Every server runs with the service's Node flags (those of `npm start`): the same runtime, only the code differs.
  const child = spawn(process.execPath, [...serviceNodeFlags(), script], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    children.delete(child);
  });
  // Poll until the first 200: the same probe for every kind, so cold starts compare fairly.
  for (;;) {
    if (exited) throw new Error(`${script} exited before answering`);
    if ((await status(port, '/healthz')) === 200) break;
    await sleep(2);
  }
  const startMs = performance.now() - started;
  return { kind, child, port, dataDir, startMs, startCpuMs: cpuMsAllThreads(child.pid ?? 0) };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) {
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(server.dataDir, { recursive: true, force: true });
}

function status(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', () => resolve(0));
  });
}

function get(port: number, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.once('end', () => resolve(body));
      })
      .once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/**
 * CPU time of every thread of a process so far, in ms, from /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU,
 * proc(5)): finer than the 10 ms ticks of /proc/<pid>/stat, and unlike wall time it does not grow when the shared
 * host keeps the process waiting for a core, so it is the steadier figure for a start-up on a busy machine.
 */
function cpuMsAllThreads(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // fields 14 and 15 of proc(5), in clock ticks (100 Hz)
}

function visitsOnDisk(server: Server): number {
  try {
    return (JSON.parse(readFileSync(path.join(server.dataDir, 'visits.json'), 'utf8')) as { counter: number }).counter;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/**
 * Waits until the server has finished what the last load left in flight: visits.json has stopped changing and holds
 * exactly the visits the server acknowledged. Both are needed: the acknowledgements trail the writes (a batch's
 * answers are sent after its fsync, and with 1024 connections queued the loop takes a while to send them), and a
 * write cycle on a busy disk can outlast one look at the file. Gives up after 60 s and returns both as they are, for
 * the check to report.
 */
async function settledVisits(server: Server): Promise<{ file: number; acked: number }> {
  const deadline = performance.now() + 60_000;
  let last = visitsOnDisk(server);
  for (;;) {
    await sleep(150);
    const file = visitsOnDisk(server);
    const acked = await acknowledgedByServer(server);
    if ((file === last && file === acked) || performance.now() > deadline) return { file, acked };
    last = file;
  }
}

/** Sum and count of a Prometheus histogram from the service's /metrics. */
async function histogram(server: Server, name: string): Promise<{ sum: number; count: number }> {
  const text = await get(server.port, '/metrics');
  const value = (suffix: string) => Number(new RegExp(`^${name}_${suffix} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { sum: value('sum'), count: value('count') };
}

// ----------------------------------------------------------------------------------------------------- loading

/** GET / answered with 200 by the server itself, from its /metrics: the acknowledgements it sent. */
async function acknowledgedByServer(server: Server): Promise<number> {
  const text = await get(server.port, '/metrics');
  return Number(/^http_requests_total\{route="\/",method="GET",status="200"\} (\S+)$/m.exec(text)?.[1] ?? 0);
}

async function measure(variant: Variant, server: Server, connections: number, round: number, durationS = DURATION_S): Promise<Measurement> {
  const url = `http://127.0.0.1:${server.port}${variant.path}`;
  const warmRate = await loader.warmUp(url, connections, WARMUP_S);

  const before = variant.durable ? await settledVisits(server) : { file: 0, acked: 0 };
  const batchesBefore = server.kind === 'service' || server.kind === 'built' ? await histogram(server, 'store_batch_size') : undefined;
  const cyclesBefore = server.kind === 'service' || server.kind === 'built' ? await histogram(server, 'store_write_duration_seconds') : undefined;
  const pid = server.child.pid ?? 0;
  let rss = rssMiB(pid);
  const sampler = setInterval(() => (rss = Math.max(rss, rssMiB(pid))), 200);
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  const result = await loader.run(url, connections, durationS, warmRate);
  const wall = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  clearInterval(sampler);
  rss = Math.max(rss, rssMiB(pid));

  const { ok, seconds } = result;
  const m: Measurement = {
    variant: variant.name,
    connections,
    round,
    requests: ok + result.non2xx,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    seconds,
    rps: (ok + result.non2xx) / seconds,
    p50: result.p50,
    p99: result.p99,
    rssMiB: rss,
    serverCpu: cpu / wall,
  };
  if (variant.durable) {
    const after = await settledVisits(server);
    m.fileDelta = after.file - before.file;
    const acked = after.acked - before.acked;
    if (after.file !== after.acked) failures.push(`${variant.name} c=${connections} round ${round}: 60 s after the load visits.json held ${after.file} visits, the server had acknowledged ${after.acked}`);
    const where = `${variant.name} c=${connections} round ${round}`;
    // The file must hold exactly the visits the server acknowledged. With autocannon every acknowledgement reached
    // the client; wrk stops with up to one request per connection in flight, answered but not counted by it.
    if (m.fileDelta !== acked) failures.push(`${where}: visits.json grew by ${m.fileDelta}, the server acknowledged ${acked}`);
    if (result.exact ? acked !== ok : acked < ok || acked > ok + connections) {
      failures.push(`${where}: the server acknowledged ${acked} visits, the client received ${ok} (${loader.name})`);
    }
  }
  if (batchesBefore && cyclesBefore) {
    const batches = await histogram(server, 'store_batch_size');
    const cycles = await histogram(server, 'store_write_duration_seconds');
    m.batchAvg = (batches.sum - batchesBefore.sum) / (batches.count - batchesBefore.count);
    m.cycleMs = ((cycles.sum - cyclesBefore.sum) / (cycles.count - cyclesBefore.count)) * 1000;
  }
  if (m.non2xx > 0 || m.errors > 0) failures.push(`${variant.name} c=${connections} round ${round}: ${m.non2xx} non-2xx, ${m.errors} errors`);
  return m;
}

// ------------------------------------------------------------------------------------------------------ report

const failures: string[] = [];
const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const fmt = (x: number | undefined, digits = 0) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

function table(rows: (string | number)[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => String(cell).padStart(widths[i] ?? 0)).join('  ')).join('\n');
}

function describeMachine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let fs = 'unknown fs';
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
    const tmp = os.tmpdir();
    const best = mounts.filter((m) => m[1] && tmp.startsWith(m[1])).sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0))[0];
    if (best) fs = `${best[2]} on ${best[0]} (${best[1]})`;
  } catch {}
  return `${os.availableParallelism()} CPUs (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, node ${process.version}, data dir ${os.tmpdir()}: ${fs}`;
}

// -------------------------------------------------------------------------------------------------------- main

// ------------------------------------------------------------------------------------------ connections

interface CurvePoint extends Measurement {
  /** VmRSS of the fresh server before any load, MiB. */
  idleRssMiB: number;
  /** (peak RSS under load - idle RSS) / connections, KiB. */
  kibPerConnection: number;
}

/** Durable visits on the built entry against the no-op ceiling at each connection count, a fresh server per point. */
async function measureCurve(): Promise<CurvePoint[]> {
  const points: CurvePoint[] = [];
  const pair = ALL_VARIANTS.filter((v) => v.name === 'built' || v.name === 'ceiling');
  for (const [i, connections] of CURVE.entries()) {
    for (const variant of i % 2 ? [...pair].reverse() : pair) {
      const server = await startServer(variant.server);
      await sleep(500);
      const idleRssMiB = rssMiB(server.child.pid ?? 0);
      const m = await measure(variant, server, connections, 1, CURVE_DURATION_S);
      await stopServer(server);
      const point = { ...m, idleRssMiB, kibPerConnection: ((m.rssMiB - idleRssMiB) * 1024) / connections };
      points.push(point);
      console.log(
        `curve ${variant.name.padStart(7)} c=${String(connections).padStart(4)}: ${fmt(m.rps)} req/s, p99 ${fmt(m.p99, 2)} ms, RSS ${fmt(idleRssMiB, 1)} → ${fmt(m.rssMiB, 1)} MiB (${fmt(point.kibPerConnection, 1)} KiB/conn)`,
      );
    }
  }
  return points;
}

/** Opens `count` keep-alive connections, each answered once (GET /healthz), and leaves them idle and open. */
async function idleConnections(port: number, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      let buffer = '';
      socket.setEncoding('utf8');
      socket.once('error', reject);
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        // The whole answer: Content-Length bytes after the head, or the last chunk of a chunked body (bare.cjs).
        const end = buffer.indexOf('\r\n\r\n');
        const length = /^content-length:\s*(\d+)/im.exec(buffer)?.[1];
        if (end >= 0 && (length === undefined ? buffer.endsWith('\r\n0\r\n\r\n') : buffer.length >= end + 4 + Number(length))) {
          if (!buffer.startsWith('HTTP/1.1 200')) reject(new Error(`idle connection got ${buffer.split('\r\n')[0]}`));
          else resolve();
        }
      });
      socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
    });
  // In batches, so that opening 1000 takes well under the servers' 5 s keep-alive timeout without a SYN flood.
  for (let i = 0; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, one));
  return sockets;
}

interface IdlePoint {
  server: string;
  connections: number;
  /** RSS before the connections (after one request on a connection since closed), and 1 s after the last of them was answered, MiB. */
  beforeMiB: number;
  withMiB: number;
  kibPerConnection: number;
  /** Connections still open when RSS was read (the servers close idle ones after 5 s). */
  open: number;
}

async function measureIdle(): Promise<IdlePoint[]> {
  const kinds = [
    ['built', 'built'],
    ['ceiling', 'noop'],
    ['bare-cjs', 'bare-cjs'],
  ] as const;
  const points: IdlePoint[] = [];
  for (const [i, connections] of IDLE.entries()) {
    for (let k = 0; k < kinds.length; k++) {
      const [name, kind] = kinds[(k + i) % kinds.length]!;
      const server = await startServer(kind);
      // The baseline after one request on a connection since closed: what the first request costs once (code compiled
      // on first use, the Fetch API's objects) is not a cost per connection.
      for (const socket of await idleConnections(server.port, 1)) socket.destroy();
      await sleep(500);
      const pid = server.child.pid ?? 0;
      const beforeMiB = rssMiB(pid);
      const sockets = await idleConnections(server.port, connections);
      await sleep(1000);
      const withMiB = rssMiB(pid);
      const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
      for (const socket of sockets) socket.destroy();
      await stopServer(server);
      if (open !== connections) failures.push(`idle ${name} ${connections}: only ${open} connections were still open when RSS was read`);
      const point = { server: name, connections, beforeMiB, withMiB, kibPerConnection: ((withMiB - beforeMiB) * 1024) / connections, open };
      points.push(point);
      console.log(`idle ${name.padStart(8)} ${String(connections).padStart(4)} keep-alive connections: RSS ${fmt(beforeMiB, 1)} → ${fmt(withMiB, 1)} MiB (${fmt(point.kibPerConnection, 1)} KiB/conn)`);
    }
  }
  return points;
}

function connectionsChart(curve: CurvePoint[], idle: IdlePoint[]): string {
  const series = (name: string, y: (p: CurvePoint) => number) => ({ name, points: curve.filter((p) => p.variant === name).map((p) => ({ x: p.connections, y: y(p) })) });
  const both = (y: (p: CurvePoint) => number) => [series('built', y), series('ceiling', y)];
  const panels = [];
  if (curve.length > 0) {
    panels.push(
      { title: 'req/s: durable visit (built) vs no-op', xLabel: 'connections', yLabel: 'requests / s', series: both((p) => p.rps) },
      { title: 'p99 latency', xLabel: 'connections', yLabel: 'ms', series: both((p) => p.p99) },
      { title: 'peak RSS under load', xLabel: 'connections', yLabel: 'MiB', series: both((p) => p.rssMiB) },
    );
  }
  if (idle.length > 0) {
    const names = [...new Set(idle.map((p) => p.server))];
    panels.push({
      title: 'RSS with idle keep-alive connections',
      xLabel: 'idle connections',
      yLabel: 'MiB',
      series: names.map((name) => ({ name, points: idle.filter((p) => p.server === name).map((p) => ({ x: p.connections, y: p.withMiB })) })),
    });
  }
  return renderChart(panels, `npm run bench, ${new Date().toISOString().slice(0, 16)} UTC, ${loader.name}, ${CURVE_DURATION_S} s per point, ${os.availableParallelism()} CPUs, node ${process.version}`);
}

// -------------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const benchStarted = performance.now();
  console.log(`rollcall bench: ${describeMachine()}`);
  console.log(`parts ${[...PARTS].join(', ')}; load from ${loader.name}`);

  const measurements: Measurement[] = [];
  if (VARIANTS.length > 0) {
    console.log(`throughput: variants ${VARIANTS.map((v) => v.name).join(', ')}; connections ${CONNECTIONS.join(', ')}; ${ROUNDS} round(s) of ${WARMUP_S} s warm-up + ~${DURATION_S} s each\n`);
    const kinds = [...new Set(VARIANTS.map((v) => v.server))];
    const servers = new Map<ServerKind, Server>();
    for (const kind of kinds) servers.set(kind, await startServer(kind));

    const header = ['variant', 'conns', 'round', 'req/s', 'p50 ms', 'p99 ms', 'RSS MiB', 'srv CPU', '2xx', 'non2xx', 'file +', 'batch', 'cycle ms'];
    console.log(table([header]));
    for (const connections of CONNECTIONS) {
      for (let round = 1; round <= ROUNDS; round++) {
        const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]!);
        for (const variant of order) {
          const m = await measure(variant, servers.get(variant.server)!, connections, round);
          measurements.push(m);
          console.log(
            table([
              header,
              [m.variant, m.connections, m.round, fmt(m.rps), fmt(m.p50, 2), fmt(m.p99, 2), fmt(m.rssMiB, 1), fmt(m.serverCpu, 2), m.ok, m.non2xx, fmt(m.fileDelta), fmt(m.batchAvg, 1), fmt(m.cycleMs, 2)],
            ]).split('\n')[1],
          );
        }
      }
    }
    for (const server of servers.values()) await stopServer(server);
  }

  // Cold start and idle RSS: the anchors, the sources and the built entry in rotating order, so all see the same
  // machine state.
  const coldKinds = ['bare-cjs', 'bare', 'built', 'service', 'fetch-floor'] as const;
  type ColdKind = (typeof coldKinds)[number];
  const perKind = () => Object.fromEntries(coldKinds.map((kind) => [kind, [] as number[]])) as Record<ColdKind, number[]>;
  const cold = perKind();
  const coldCpu = perKind();
  const idle = perKind();
  if (COLD_REPS > 0) console.log(`\ncold start: ${coldKinds.join(', ')}, ${COLD_REPS} times each, rotating`);
  for (let i = 0; i < COLD_REPS; i++) {
    for (let k = 0; k < coldKinds.length; k++) {
      const kind = coldKinds[(k + i) % coldKinds.length]!;
      const server = await startServer(kind);
      cold[kind].push(server.startMs);
      coldCpu[kind].push(server.startCpuMs);
      await sleep(500);
      idle[kind].push(rssMiB(server.child.pid ?? 0));
      await stopServer(server);
    }
  }

  const curve = CURVE.length > 0 ? (console.log(`\nconnection curve: built and ceiling at ${CURVE.join(', ')} connections, ${WARMUP_S} s warm-up + ~${CURVE_DURATION_S} s each, a fresh server per point`), await measureCurve()) : [];
  const idleConns = IDLE.length > 0 ? (console.log(`\nidle keep-alive connections: ${IDLE.join(', ')}`), await measureIdle()) : [];

  const summary = (variant: string, connections: number) => {
    const ms = measurements.filter((m) => m.variant === variant && m.connections === connections);
    return {
      rps: median(ms.map((m) => m.rps)),
      p50: median(ms.map((m) => m.p50)),
      p99: median(ms.map((m) => m.p99)),
      rss: Math.max(...ms.map((m) => m.rssMiB)),
      cpu: median(ms.map((m) => m.serverCpu)),
      batch: median(ms.map((m) => m.batchAvg ?? Number.NaN)),
      cycle: median(ms.map((m) => m.cycleMs ?? Number.NaN)),
    };
  };
  if (measurements.length > 0) {
    console.log(`\nSummary (median of ${ROUNDS} round(s); RSS = highest seen)`);
    const rows: (string | number)[][] = [['variant', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'RSS MiB', 'srv CPU', 'batch', 'cycle ms']];
    for (const variant of VARIANTS) {
      for (const connections of CONNECTIONS) {
        const s = summary(variant.name, connections);
        rows.push([variant.name, connections, fmt(s.rps), fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.rss, 1), fmt(s.cpu, 2), fmt(s.batch, 1), fmt(s.cycle, 2)]);
      }
    }
    console.log(table(rows));
  }
  if (curve.length > 0) {
    console.log(`\nConnection curve (one run per point, ${CURVE_DURATION_S} s; RSS/conn = (peak RSS under load - idle RSS of the fresh server) / connections)`);
    const rows: (string | number)[][] = [['conns', 'built req/s', 'ceiling req/s', 'built/ceiling', 'built p99 ms', 'ceiling p99 ms', 'built RSS MiB', 'ceiling RSS MiB', 'built KiB/conn', 'ceiling KiB/conn']];
    for (const connections of CURVE) {
      const b = curve.find((p) => p.variant === 'built' && p.connections === connections);
      const c = curve.find((p) => p.variant === 'ceiling' && p.connections === connections);
      rows.push([connections, fmt(b?.rps), fmt(c?.rps), fmt((b?.rps ?? Number.NaN) / (c?.rps ?? Number.NaN), 2), fmt(b?.p99, 2), fmt(c?.p99, 2), fmt(b?.rssMiB, 1), fmt(c?.rssMiB, 1), fmt(b?.kibPerConnection, 1), fmt(c?.kibPerConnection, 1)]);
    }
    console.log(table(rows));
  }
  if (idleConns.length > 0) {
    console.log(`\nIdle keep-alive connections (RSS 1 s after the last was answered; KiB/conn = growth / connections)`);
    const names = [...new Set(idleConns.map((p) => p.server))];
    const rows: (string | number)[][] = [['conns', ...names.flatMap((n) => [`${n} MiB`, `${n} KiB/conn`])]];
    for (const connections of IDLE) {
      rows.push([connections, ...names.flatMap((n) => {
        const p = idleConns.find((q) => q.server === n && q.connections === connections);
        return [fmt(p?.withMiB, 1), fmt(p?.kibPerConnection, 1)];
      })]);
    }
    console.log(table(rows));
  }
  if ((curve.length > 0 || idleConns.length > 0) && args.svg) {
    mkdirSync(path.dirname(args.svg), { recursive: true });
    writeFileSync(args.svg, connectionsChart(curve, idleConns));
    console.log(`plot: ${path.relative(process.cwd(), args.svg)}`);
  }

  const top = Math.max(...CONNECTIONS);
  const durable = summary('durable', top);
  const built = summary('built', top);
  const ceiling = summary('ceiling', top);
  const naive = summary('naive', top);
  const m = (xs: number[]) => median(xs);
  // Throughput ratios per round (both variants measured within the same minute), then their median.
  const perRound = (a: string, b: string) =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const rps = (variant: string) => measurements.find((x) => x.variant === variant && x.connections === top && x.round === i + 1)?.rps ?? Number.NaN;
      return rps(a) / rps(b);
    });
  const overCeiling = perRound('durable', 'ceiling');
  const builtOverCeiling = perRound('built', 'ceiling');
  const overNaive = perRound('durable', 'naive');
  const rounds = (ratios: number[]) => `rounds ${ratios.map((r) => fmt(r, 2)).join(' ')}`;
  const ratio = (name: string, value: number, target: string, met: (v: number) => boolean, figure: string) => ({ name, value, target, met: met(value), figure });
  const report = () => true;
  const of = `(median of ${COLD_REPS})`;
  const coldVs = (kind: ColdKind, anchor: ColdKind, target: string, met: (v: number) => boolean) =>
    ratio(`cold start ${kind} / ${anchor}`, m(cold[kind]) / m(cold[anchor]), target, met, `${fmt(m(cold[kind]), 1)} / ${fmt(m(cold[anchor]), 1)} ms ${of}`);
  const cpuVs = (kind: ColdKind, anchor: ColdKind) =>
    ratio(`CPU to first 200 ${kind} / ${anchor}`, m(coldCpu[kind]) / m(coldCpu[anchor]), 'report', report, `${fmt(m(coldCpu[kind]), 1)} / ${fmt(m(coldCpu[anchor]), 1)} ms ${of}`);
  const idleVs = (kind: ColdKind, anchor: ColdKind, target: string, met: (v: number) => boolean) =>
    ratio(`idle RSS ${kind} / ${anchor}`, m(idle[kind]) / m(idle[anchor]), target, met, `${fmt(m(idle[kind]), 1)} / ${fmt(m(idle[anchor]), 1)} MiB ${of}`);
  const targets: { name: string; value: number; target: string; met: boolean; figure: string }[] = [
    // The targets: the image's entry against the CommonJS anchor (docs/benchmarks.md, "The anchor").
    coldVs('built', 'bare-cjs', '<= 1.3', (v) => v <= 1.3),
    idleVs('built', 'bare-cjs', '<= 1.2', (v) => v <= 1.2),
    cpuVs('built', 'bare-cjs'),
    // Reported: the ES-module anchor (the old one), the Fetch-API floor, the sources.
    coldVs('built', 'bare', 'report', report),
    coldVs('fetch-floor', 'bare-cjs', 'report', report),
    coldVs('built', 'fetch-floor', 'report', report),
    coldVs('service', 'bare-cjs', 'report', report),
    cpuVs('fetch-floor', 'bare-cjs'),
    cpuVs('bare', 'bare-cjs'),
    idleVs('built', 'bare', 'report', report),
    idleVs('fetch-floor', 'bare-cjs', 'report', report),
    idleVs('built', 'fetch-floor', 'report', report),
    idleVs('service', 'bare-cjs', 'report', report),
    ratio(`RSS after load built / no-op server`, built.rss / ceiling.rss, '<= 1.3', (v) => v <= 1.3, `${fmt(built.rss, 1)} / ${fmt(ceiling.rss, 1)} MiB`),
    ratio(`RSS after load sources / no-op server`, durable.rss / ceiling.rss, '<= 1.3', (v) => v <= 1.3, `${fmt(durable.rss, 1)} / ${fmt(ceiling.rss, 1)} MiB`),
    ratio(`built / ceiling req/s @${top}`, median(builtOverCeiling), '>= 0.6', (v) => v >= 0.6, `${rounds(builtOverCeiling)}; medians ${fmt(built.rps)} / ${fmt(ceiling.rps)}`),
    ratio(`built p99 @${top} (ms)`, built.p99, '<= 15', (v) => v <= 15, `${fmt(built.p99, 2)} ms`),
    ratio(`durable (sources) / ceiling req/s @${top}`, median(overCeiling), '>= 0.6', (v) => v >= 0.6, `${rounds(overCeiling)}; medians ${fmt(durable.rps)} / ${fmt(ceiling.rps)}`),
    ratio(`durable (sources) p99 @${top} (ms)`, durable.p99, '<= 15', (v) => v <= 15, `${fmt(durable.p99, 2)} ms`),
    ratio(`durable / naive req/s @${top}`, median(overNaive), '>= 20', (v) => v >= 20, `${rounds(overNaive)}; medians ${fmt(durable.rps)} / ${fmt(naive.rps)}`),
  ].filter((t) => Number.isFinite(t.value));
  console.log(`\nTargets`);
  console.log(
    table([
      ['ratio', 'value', 'target', 'result', 'figures'],
      ...targets.map((t) => [t.name, fmt(t.value, 2), t.target, t.target === 'report' ? '' : t.met ? 'met' : 'MISSED', t.figure]),
    ]),
  );
  if (COLD_REPS > 0) {
    for (const kind of coldKinds) {
      console.log(`${kind}: cold start ms ${cold[kind].map((x) => fmt(x, 0)).join(' ')}; CPU ms ${coldCpu[kind].map((x) => fmt(x, 0)).join(' ')}; idle RSS MiB ${idle[kind].map((x) => fmt(x, 1)).join(' ')}`);
    }
  }
  if (failures.length > 0) console.log(`\nCHECK FAILURES:\n${failures.map((f) => `  ${f}`).join('\n')}`);
  else console.log(`\nchecks: every durable run's visits.json grew by exactly the visits the server acknowledged, and the client received them (${loader.name}); no errors, no non-2xx; idle connections all open when measured`);
  console.log(`bench took ${fmt((performance.now() - benchStarted) / 1000)} s`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ machine: describeMachine(), loader: loader.name, measurements, cold, coldCpu, idle, curve, idleConnections: idleConns, targets, failures }, null, 2));
  process.exitCode = failures.length > 0 ? 1 : 0;
}

await main();
