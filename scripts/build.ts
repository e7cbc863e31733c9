// `npm run build`: the production entry points, bundled for start-up (issue 10). The image runs these files with
// no node_modules and no TypeScript: `node /app/server.js` and `node /app/hooks/<name>.js`.
//
//   <out>/server.js          src/server.ts with hono, @hono/node-server, pino, prom-client, zod inlined
//   <out>/hooks/<name>.js    one file per hook entry in src/hooks/ (see hookEntries)
//   <out>/package.json       {"type": "module"}: the bundles are ES modules (server.ts uses top-level await)
//
// Why bundle: Node 24 spends most of the service's start-up stripping types and resolving, reading and compiling
// several hundred module files; one minified file with every dependency inlined is read and compiled once
// (docs/benchmarks.md, "Cold start"). esbuild is the bundler: a single well-kept tool that reads TypeScript with
// erasable syntax as is and needs no configuration file.
//
// Usage: node scripts/build.ts [--out DIR] (default dist/)
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

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
      { in: path.join(root, 'src', 'server.ts'), out: 'server' },
      ...hooks.map((file) => ({ in: file, out: `hooks/${path.basename(file, '.ts')}` })),
    ],
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // One self-contained file per entry (no shared chunks): a Job loads exactly one file.
    splitting: false,
    minify: true,
    // Readable stack traces would need the source map at run time (--enable-source-maps costs start-up); names
    // are kept so a stack still says which function failed.
    keepNames: true,
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
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  const files = [...Object.keys(result.metafile.outputs).map((file) => path.relative(outDir, path.resolve(root, file))), 'package.json'].sort();
  return { outDir, files };
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(root, 'dist') } } });
  const started = performance.now();
  const { outDir, files } = await build(path.resolve(values.out));
  console.log(`built ${files.join(', ')} in ${path.relative(process.cwd(), outDir) || '.'} (${Math.round(performance.now() - started)} ms)`);
}
