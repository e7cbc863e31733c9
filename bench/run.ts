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
// Cold start: spawn → first 200 from /healthz, median of several, and idle RSS (VmRSS 500 ms after that first 200),
// for the sources (`npm start`'s command), the built entry (the image's) and the anchor: a bare node:http server in
// plain JavaScript (bench/servers/bare.mjs), all alternating so they see the same machine state; plus, reported
// only, the same bare server in CommonJS (bench/servers/bare.cjs), which skips node:http's ESM facade.
//
// Options: --duration S (5) --warmup S (1) --rounds N (5) --conns 1,16,64 --variants ceiling,memory,durable,built,naive
//          --cold N (15 repetitions; 0 skips) --loader auto|wrk|autocannon --json FILE (raw results)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pickLoader } from './load.ts';
import { build, warmCompileCache } from '../scripts/build.ts';
import { IMAGE_ENTRY, serviceNodeFlags } from '../scripts/lib/service-command.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    conns: { type: 'string', default: '1,16,64' },
    variants: { type: 'string', default: 'ceiling,memory,durable,built,naive' },
    cold: { type: 'string', default: '15' },
    json: { type: 'string' },
    loader: { type: 'string', default: 'auto' },
  },
});
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = args.conns.split(',').map(Number);
const COLD_REPS = Number(args.cold);
const loader = await pickLoader(args.loader);

type ServerKind = 'service' | 'built' | 'noop' | 'naive' | 'bare' | 'bare-cjs';
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
const VARIANTS = ALL_VARIANTS.filter((v) => args.variants.split(',').includes(v.name));

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
  }
}

async function startServer(kind: ServerKind): Promise<Server & { startMs: number }> {
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
  return { kind, child, port, dataDir, startMs: performance.now() - started };
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

/** Waits until the server has finished whatever the last load left in flight (the file stops changing). */
async function settledVisits(server: Server): Promise<number> {
  let last = visitsOnDisk(server);
  for (;;) {
    await sleep(150);
    const now = visitsOnDisk(server);
    if (now === last) return now;
    last = now;
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

async function measure(variant: Variant, server: Server, connections: number, round: number): Promise<Measurement> {
  const url = `http://127.0.0.1:${server.port}${variant.path}`;
  const warmRate = await loader.warmUp(url, connections, WARMUP_S);

  const before = variant.durable ? await settledVisits(server) : 0;
  const ackedBefore = variant.durable ? await acknowledgedByServer(server) : 0;
  const batchesBefore = server.kind === 'service' || server.kind === 'built' ? await histogram(server, 'store_batch_size') : undefined;
  const cyclesBefore = server.kind === 'service' || server.kind === 'built' ? await histogram(server, 'store_write_duration_seconds') : undefined;
  const pid = server.child.pid ?? 0;
  let rss = rssMiB(pid);
  const sampler = setInterval(() => (rss = Math.max(rss, rssMiB(pid))), 200);
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  const result = await loader.run(url, connections, DURATION_S, warmRate);
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
    m.fileDelta = (await settledVisits(server)) - before;
    const acked = (await acknowledgedByServer(server)) - ackedBefore;
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

async function main(): Promise<void> {
  const benchStarted = performance.now();
  console.log(`rollcall bench: ${describeMachine()}`);
  console.log(`load from ${loader.name}; variants ${VARIANTS.map((v) => v.name).join(', ')}; connections ${CONNECTIONS.join(', ')}; ${ROUNDS} round(s) of ${WARMUP_S} s warm-up + ~${DURATION_S} s each\n`);

  const kinds = [...new Set(VARIANTS.map((v) => v.server))];
  const servers = new Map<ServerKind, Server>();
  for (const kind of kinds) servers.set(kind, await startServer(kind));

  const measurements: Measurement[] = [];
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

  // Cold start and idle RSS: the anchor, the sources and the built entry in rotating order, so all see the same
  // machine state.
  const coldKinds = ['bare', 'service', 'built', 'bare-cjs'] as const;
  type ColdKind = (typeof coldKinds)[number];
  const cold: Record<ColdKind, number[]> = { bare: [], service: [], built: [], 'bare-cjs': [] };
  const idle: Record<ColdKind, number[]> = { bare: [], service: [], built: [], 'bare-cjs': [] };
  for (let i = 0; i < COLD_REPS; i++) {
    for (let k = 0; k < coldKinds.length; k++) {
      const kind = coldKinds[(k + i) % coldKinds.length]!;
      const server = await startServer(kind);
      cold[kind].push(server.startMs);
      await sleep(500);
      idle[kind].push(rssMiB(server.child.pid ?? 0));
      await stopServer(server);
    }
  }

  // Summary: medians over rounds.
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
  console.log(`\nSummary (median of ${ROUNDS} round(s); RSS = highest seen)`);
  const rows: (string | number)[][] = [['variant', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'RSS MiB', 'srv CPU', 'batch', 'cycle ms']];
  for (const variant of VARIANTS) {
    for (const connections of CONNECTIONS) {
      const s = summary(variant.name, connections);
      rows.push([variant.name, connections, fmt(s.rps), fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.rss, 1), fmt(s.cpu, 2), fmt(s.batch, 1), fmt(s.cycle, 2)]);
    }
  }
  console.log(table(rows));

  const top = Math.max(...CONNECTIONS);
  const durable = summary('durable', top);
  const built = summary('built', top);
  const ceiling = summary('ceiling', top);
  const naive = summary('naive', top);
  // RSS: the service against the no-op server, each at its highest over the runs at the top connection count.
  const coldService = median(cold.service);
  const coldBuilt = median(cold.built);
  const coldBare = median(cold.bare);
  const idleService = median(idle.service);
  const idleBuilt = median(idle.built);
  const idleBare = median(idle.bare);
  const coldBareCjs = median(cold['bare-cjs']);
  const idleBareCjs = median(idle['bare-cjs']);
  // Throughput ratios per round (both variants measured within the same minute), then their median.
  const perRound = (a: string, b: string) =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const rps = (variant: string) => measurements.find((m) => m.variant === variant && m.connections === top && m.round === i + 1)?.rps ?? Number.NaN;
      return rps(a) / rps(b);
    });
  const overCeiling = perRound('durable', 'ceiling');
  const builtOverCeiling = perRound('built', 'ceiling');
  const overNaive = perRound('durable', 'naive');
  const rounds = (ratios: number[]) => `rounds ${ratios.map((r) => fmt(r, 2)).join(' ')}`;
  const ratio = (name: string, value: number, target: string, met: (v: number) => boolean, figure: string) => ({ name, value, target, met: met(value), figure });
  const coldFigure = (ms: number) => `${fmt(ms, 1)} / ${fmt(coldBare, 1)} ms (median of ${COLD_REPS})`;
  const idleFigure = (mib: number) => `${fmt(mib, 1)} / ${fmt(idleBare, 1)} MiB (median of ${COLD_REPS})`;
  const targets: { name: string; value: number; target: string; met: boolean; figure: string }[] = [
    ratio('cold start built entry / bare node:http', coldBuilt / coldBare, '<= 1.5', (v) => v <= 1.5, coldFigure(coldBuilt)),
    ratio('cold start npm start (sources) / bare', coldService / coldBare, 'report', () => true, coldFigure(coldService)),
    ratio('cold start built / bare in CommonJS', coldBuilt / coldBareCjs, 'report', () => true, `${fmt(coldBuilt, 1)} / ${fmt(coldBareCjs, 1)} ms (median of ${COLD_REPS})`),
    ratio('idle RSS built entry / bare node:http', idleBuilt / idleBare, '<= 1.3', (v) => v <= 1.3, idleFigure(idleBuilt)),
    ratio('idle RSS npm start (sources) / bare', idleService / idleBare, 'report', () => true, idleFigure(idleService)),
    ratio('idle RSS built / bare in CommonJS', idleBuilt / idleBareCjs, 'report', () => true, `${fmt(idleBuilt, 1)} / ${fmt(idleBareCjs, 1)} MiB (median of ${COLD_REPS})`),
    ratio(`RSS after load built / no-op server`, built.rss / ceiling.rss, '<= 1.3', (v) => v <= 1.3, `${fmt(built.rss, 1)} / ${fmt(ceiling.rss, 1)} MiB`),
    ratio(`RSS after load sources / no-op server`, durable.rss / ceiling.rss, '<= 1.3', (v) => v <= 1.3, `${fmt(durable.rss, 1)} / ${fmt(ceiling.rss, 1)} MiB`),
    ratio(`built / ceiling req/s @${top}`, median(builtOverCeiling), '>= 0.6', (v) => v >= 0.6, `${rounds(builtOverCeiling)}; medians ${fmt(built.rps)} / ${fmt(ceiling.rps)}`),
    ratio(`built p99 @${top} (ms)`, built.p99, '<= 15', (v) => v <= 15, `${fmt(built.p99, 2)} ms`),
    ratio(`durable (sources) / ceiling req/s @${top}`, median(overCeiling), '>= 0.6', (v) => v >= 0.6, `${rounds(overCeiling)}; medians ${fmt(durable.rps)} / ${fmt(ceiling.rps)}`),
    ratio(`durable (sources) p99 @${top} (ms)`, durable.p99, '<= 15', (v) => v <= 15, `${fmt(durable.p99, 2)} ms`),
    ratio(`durable / naive req/s @${top}`, median(overNaive), '>= 20', (v) => v >= 20, `${rounds(overNaive)}; medians ${fmt(durable.rps)} / ${fmt(naive.rps)}`),
  ].filter((t) => Number.isFinite(t.value) || t.target !== 'report');
  console.log(`\nTargets`);
  console.log(
    table([
      ['ratio', 'value', 'target', 'result', 'figures'],
      ...targets.map((t) => [t.name, fmt(t.value, 2), t.target, t.target === 'report' ? '' : Number.isFinite(t.value) ? (t.met ? 'met' : 'MISSED') : 'n/a', t.figure]),
    ]),
  );
  for (const kind of coldKinds) console.log(`${kind}: cold start ms ${cold[kind].map((x) => fmt(x, 0)).join(' ')}; idle RSS MiB ${idle[kind].map((x) => fmt(x, 1)).join(' ')}`);
  if (failures.length > 0) console.log(`\nCHECK FAILURES:\n${failures.map((f) => `  ${f}`).join('\n')}`);
  else console.log(`\nchecks: every durable run's visits.json grew by exactly the visits the server acknowledged, and the client received them (${loader.name}); no errors, no non-2xx`);
  console.log(`bench took ${fmt((performance.now() - benchStarted) / 1000)} s`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ machine: describeMachine(), loader: loader.name, measurements, cold, idle, targets, failures }, null, 2));
  process.exitCode = failures.length > 0 ? 1 : 0;
}

await main();
