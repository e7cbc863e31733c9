// `npm run build`: the production entry points, bundled for start-up. The image runs these files with
// no node_modules and no TypeScript: `node /app/server.js` and `node /app/hooks/<name>.js`.
//
//   <out>/server.js          src/service/main.ts with hono, @hono/node-server, pino, prom-client, zod inlined
//   <out>/hooks/<name>.js    one file per hook entry in src/hooks/ (see hookEntries)
//   <out>/package.json       name, version and {"type": "module"}: the bundles are ES modules (server.ts uses
//                            top-level await); the smoke hook reads the image's version from it
//   <out>/.compile-cache/    with --compile-cache: V8's code cache for server.js, produced by starting the bundle
//                            once (see warmCompileCache); the image sets NODE_COMPILE_CACHE to it
//
// Why bundle: Node 24 spends most of the service's start-up stripping types and resolving, reading and compiling
// several hundred module files; one minified file with every dependency inlined is read and compiled once
// (docs/benchmarks.md, "What made the start-up (and the bundle) faster"). esbuild is the bundler: a single well-kept
// tool that reads TypeScript with erasable syntax as is and needs no configuration file.
//
// Usage: node scripts/build.ts [--out DIR] (default dist/) [--compile-cache]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { followServerLog } from './lib/server-log.ts';
import { IMAGE_ENTRY, serviceNodeFlags } from './lib/service-command.ts';

const root = path.resolve(import.meta.dirname, '..');
const hooksDir = path.join(root, 'src', 'hooks');

/** The idiom by which a module in src/hooks/ runs as a program: `if (process.argv[1] === fileURLToPath(import.meta.url))`. */
const MAIN_GUARD = /process\.argv\[1\]\s*===\s*fileURLToPath\(import\.meta\.url\)/;

/**
 * The hook entries: every src/hooks/*.ts that runs as a program (it has the main guard). Files without it are
 * libraries of the hooks; build() fails when one of them is bundled into no entry, so a new hook that forgot its
 * main guard is a build error instead of a silently missing /app/hooks/<name>.js.
 */
export function hookEntries(): string[] {
  return readdirSync(hooksDir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'))
    .filter((name) => MAIN_GUARD.test(readFileSync(path.join(hooksDir, name), 'utf8')))
    .sort()
    .map((name) => path.join(hooksDir, name));
}

export interface BuildResult {
  outDir: string;
  /** Output files relative to outDir, e.g. ['server.js', 'hooks/smoke.js']. */
  files: string[];
}

export async function build(outDir: string): Promise<BuildResult> {
  rmSync(outDir, { recursive: true, force: true });
  const hooks = hookEntries();
  const result = await esbuild.build({
    entryPoints: [
      { in: path.join(root, 'src', 'service', 'main.ts'), out: 'server' },
      ...hooks.map((file) => ({ in: file, out: `hooks/${path.basename(file, '.ts')}` })),
    ],
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // One self-contained file per entry (no shared chunks): a Job loads exactly one file.
    splitting: false,
    // Whitespace and syntax minified, identifiers not: names stay readable in stack traces and in the logs' error
    // types (pino writes err.constructor.name) without esbuild's keepNames, whose __name() call on every function
    // and class, closures created per request included, cost about 5-10% of durable visits per second
    // (docs/benchmarks.md, "What made the start-up (and the bundle) faster").
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // The CommonJS dependencies (pino, prom-client) call require() for Node built-ins; an ES module has no
    // require, so give the bundle one.
    banner: { js: "import { createRequire as __rollcallCreateRequire } from 'node:module'; const require = __rollcallCreateRequire(import.meta.url);" },
    // Nothing is external: prom-client's @opentelemetry/api (a real dependency, required at load time for
    // exemplars) and pino's modules are inlined like the rest. pino's worker-thread transports (thread-stream)
    // would need separate files next to the bundle, but the service logs to stdout with no transport.
  });
  const inputs = new Set(Object.keys(result.metafile.inputs).map((input) => path.resolve(root, input)));
  const unbundled = readdirSync(hooksDir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .map((name) => path.join(hooksDir, name))
    .filter((file) => !inputs.has(file));
  if (unbundled.length > 0) {
    throw new Error(
      `${unbundled.map((f) => path.relative(root, f)).join(', ')}: neither a hook entry (no \`if (process.argv[1] === fileURLToPath(import.meta.url))\` main guard) nor imported by one`,
    );
  }
  // name and version too: the smoke hook expects every replica to report the version of the image it runs in, and
  // reads it from the rollcall package.json beside it (src/hooks/smoke.ts, ownPackageVersion).
  const { name, version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify({ name, version, type: 'module', private: true }, null, 2)}\n`);
  const files = [...Object.keys(result.metafile.outputs).map((file) => path.relative(outDir, path.resolve(root, file))), 'package.json'].sort();
  return { outDir, files };
}

/** Where warmCompileCache puts the cache, relative to the build's directory. */
export const COMPILE_CACHE_DIR = '.compile-cache';

/**
 * Fills <outDir>/.compile-cache with V8's code cache for the service bundle (Node's module compile cache,
 * https://nodejs.org/api/module.html#module-compile-cache): starts `node <npm start's flags> server.js` with
 * NODE_COMPILE_CACHE pointing there, sends it the requests a pod gets first (a visit, /visits, /readyz, /metrics,
 * a 404) so the functions they compile are in the cache too, then stops it with SIGTERM; Node writes the cache at
 * exit. The cache is keyed by Node version, V8 flags and the file's path and content, so it must be produced by the
 * same Node binary, with the same flags, at the path where the file runs (the Dockerfile does it at /app). At run
 * time a stale or missing entry only means compiling as usual: the directory can be read-only.
 */
export async function warmCompileCache(outDir: string): Promise<string> {
  const cacheDir = path.join(outDir, COMPILE_CACHE_DIR);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rollcall-warm-'));
  try {
    const child = spawn(process.execPath, [...serviceNodeFlags(), path.join(outDir, IMAGE_ENTRY)], {
      cwd: outDir,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, SHUTDOWN_DRAIN_MS: '0', LOG_LEVEL: 'info', NODE_COMPILE_CACHE: cacheDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
    const { listening } = followServerLog(child.stdout!);
    const port = await Promise.race([listening, exited.then((code) => Promise.reject(new Error(`${IMAGE_ENTRY} exited (${code}) before listening`)))]);
    for (const [urlPath, accept] of [['/', 'application/json'], ['/', 'text/html'], ['/visits', '*/*'], ['/readyz', '*/*'], ['/metrics', '*/*'], ['/nope', '*/*']] as const) {
      await (await fetch(`http://127.0.0.1:${port}${urlPath}`, { headers: { accept } })).arrayBuffer();
    }
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`${IMAGE_ENTRY} exited with ${code} after SIGTERM while warming the compile cache`);
    return cacheDir;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(root, 'dist') }, 'compile-cache': { type: 'boolean', default: false } } });
  const started = performance.now();
  const { outDir, files } = await build(path.resolve(values.out));
  if (values['compile-cache']) files.push(`${path.relative(outDir, await warmCompileCache(outDir))}/`);
  console.log(`built ${files.join(', ')} in ${path.relative(process.cwd(), outDir) || '.'} (${Math.round(performance.now() - started)} ms)`);
}
