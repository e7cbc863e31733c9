// `npm run bench:profile`: where the built entry's start-up goes, from V8 CPU profiles (`node --cpu-prof`). Reported,
// never asserted. The built entry (scripts/build.ts, here with a source map so that every function of the bundle maps
// to its package or source file) and the two floors it is compared with (bench/servers/bare.cjs and fetch-floor.cjs)
// are each started --runs times, profiled from spawn to the first 200 from /healthz, then stopped with SIGTERM; the
// samples are sorted into what they were doing:
//   undici       anything under Node's bundled undici: the web Request/Response/Headers, loaded on first touch;
//   <package>    the innermost bundle frame of the stack mapped through the source map: a package's module code and
//                what it calls, the built-ins it requires included (so node:http's loading counts for the package
//                that imports it), or one of our modules (src/service/x.ts);
//   native       V8 and Node outside JavaScript: bootstrap, parsing and compiling, the code cache;
//   node:<file>  Node's own JavaScript, by the outermost frame: node:internal/main/run_main_module is the module
//                loader, and for an ES module entry it includes linking the bundle's static `import ... from 'node:x'`
//                (each built-in loaded and wrapped in a facade before the bundle's first line runs);
//   GC           the garbage collector.
// Samples under the shutdown that follows the first 200 (shutdown, onSignal) are left out. Profiling slows every
// process by a similar share; read the ms as proportions.
//
// Usage: node bench/profile-start.ts [--runs N (5)] [--top N (20)] [--keep DIR (keeps the .cpuprofile files)]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { SourceMap } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, warmCompileCache } from '../scripts/build.ts';
import { IMAGE_ENTRY, serviceNodeFlags } from '../scripts/lib/service-command.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, top: { type: 'string', default: '20' }, keep: { type: 'string' } } });
const RUNS = Number(args.runs);

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface Profile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const status = (port: number) =>
  new Promise<number>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', () => resolve(0));
  });
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

/** One profiled start: spawn → first 200 → SIGTERM → the profile Node writes at exit. */
async function profileOnce(script: string, env: Record<string, string>, profileDir: string): Promise<Profile> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rollcall-profile-data-'));
  mkdirSync(profileDir, { recursive: true });
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval', '100', ...serviceNodeFlags(), script], {
    cwd: path.dirname(script),
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', SHUTDOWN_DRAIN_MS: '0', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = performance.now() + 30_000;
    while ((await status(port)) !== 200) {
      if (child.exitCode !== null || performance.now() > deadline) throw new Error(`${script} did not answer`);
      await sleep(2);
    }
    child.kill('SIGTERM');
    await exited;
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
  const [file] = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile') && name.includes(`.${child.pid}.`));
  if (!file) throw new Error(`no profile of ${script} in ${profileDir}`);
  return JSON.parse(readFileSync(path.join(profileDir, file), 'utf8')) as Profile;
}

/** The package (or our source file) a bundle position comes from. */
function sourceOf(map: SourceMap | undefined, frame: CallFrame): string {
  const source = map?.findEntry(frame.lineNumber, frame.columnNumber);
  const file = source && 'originalSource' in source ? source.originalSource : undefined;
  if (!file) return 'bundle (unmapped)';
  // Sources are paths relative to the bundle's directory: keep the package name, or our file from src/ on.
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? /(?:^|\/)(src\/.+)$/.exec(file)?.[1] ?? file;
}

const SHUTDOWN = new Set(['shutdown', 'onSignal']);

/** ms per category over one profile, (idle) and the shutdown after the first 200 left out. */
function categorize(profile: Profile, map: SourceMap | undefined, entryUrl: string): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map<number, string | undefined>();
  const category = (id: number): string | undefined => {
    if (cache.has(id)) return cache.get(id);
    const stack: CallFrame[] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x)!.callFrame);
    const leaf = stack[0]!;
    let result: string | undefined;
    if (leaf.functionName === '(idle)' || leaf.functionName === '(root)') result = undefined;
    else if (stack.some((f) => f.url === entryUrl && SHUTDOWN.has(f.functionName))) result = undefined;
    else if (leaf.functionName === '(garbage collector)') result = 'GC';
    else if (leaf.functionName === '(program)') result = 'native';
    else if (stack.some((f) => f.url.includes('deps/undici'))) result = 'undici';
    else {
      const inner = stack.find((f) => f.url === entryUrl);
      if (inner) result = map ? sourceOf(map, inner) : 'the server script';
      else result = stack.findLast((f) => f.url.startsWith('node:'))?.url ?? (leaf.url || leaf.functionName);
    }
    cache.set(id, result);
    return result;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const key = category(id);
    if (key !== undefined) totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return totals;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? 0 : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rollcall-profile-'));
  const profileDir = args.keep ? path.resolve(args.keep) : path.join(work, 'profiles');
  try {
    const outDir = path.join(work, 'app');
    await build(outDir, { sourcemap: true });
    const cache = await warmCompileCache(outDir);
    const entry = path.join(outDir, IMAGE_ENTRY);
    const map = new SourceMap(JSON.parse(readFileSync(`${entry}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
    const kinds = [
      { name: 'built', script: entry, env: { NODE_COMPILE_CACHE: cache } },
      { name: 'fetch-floor', script: path.join(root, 'bench', 'servers', 'fetch-floor.cjs'), env: {} },
      { name: 'bare-cjs', script: path.join(root, 'bench', 'servers', 'bare.cjs'), env: {} },
    ];
    const results = new Map<string, Map<string, number>[]>(kinds.map((k) => [k.name, []]));
    for (let i = 0; i < RUNS; i++) {
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(k + i) % kinds.length]!;
        const profile = await profileOnce(kind.script, kind.env, path.join(profileDir, kind.name));
        const url = kind.name === 'built' ? `file://${entry}` : `file://${kind.script}`;
        results.get(kind.name)!.push(categorize(profile, kind.name === 'built' ? map : undefined, url));
      }
    }
    console.log(`CPU profiles, spawn → first 200 (--cpu-prof, 100 µs sampling; medians of ${RUNS} runs; profiling slows every process alike: read shares)\n`);
    const totals = Object.fromEntries([...results].map(([name, runs]) => [name, median(runs.map(sum))]));
    for (const [name, total] of Object.entries(totals)) console.log(`${name.padEnd(12)} ${total.toFixed(1).padStart(7)} ms CPU (${(total / totals['bare-cjs']!).toFixed(2)}× bare-cjs)`);
    for (const name of ['built', 'fetch-floor']) {
      const runs = results.get(name)!;
      const keys = [...new Set(runs.flatMap((r) => [...r.keys()]))];
      const rows = keys.map((key) => ({ key, ms: median(runs.map((r) => r.get(key) ?? 0)) })).sort((a, b) => b.ms - a.ms);
      console.log(`\n${name}: by what it was doing (median ms per start)`);
      for (const { key, ms } of rows.slice(0, Number(args.top))) console.log(`${ms.toFixed(1).padStart(8)}  ${key}`);
    }
    if (args.keep) console.log(`\nprofiles kept in ${profileDir} (open them in Chrome DevTools, Performance panel)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
