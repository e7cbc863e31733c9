// How the service is run: the `start` script of package.json (`exec node <flags> src/server.ts`) is the one place
// that says it. The image runs the bundled entry with the same Node flags (`node <flags> server.js` in /app, see
// scripts/build.ts; test/service-command.test.ts checks the Dockerfile's CMD), and the benchmark and `rollcall
// compare` start their servers with the same flags, so what they measure is what runs in the pod.
// The flags: --max-semi-space-size=8 caps V8's young generation (docs/benchmarks.md, "Memory"); --disable-sigusr1
// keeps SIGUSR1 from opening the V8 inspector on 127.0.0.1:9229. The server also replaces Node's SIGUSR1 handler with
// its own (src/service/lifecycle.ts), but only once its first line runs; the flag covers start-up too. With the flag Node
// blocks SIGUSR1 in every thread (checked on Node 24.21: it stays pending in /proc/<pid>/status ShdPnd), so the
// server's handler never runs and no "SIGUSR1 ignored" line is logged: the signal does nothing at all.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/** The bundled entry in the image: scripts/build.ts writes it, the Dockerfile copies it to WORKDIR /app. */
export const IMAGE_ENTRY = 'server.js';

/**
 * The command of `npm start` as argv, e.g. ['node', '--max-semi-space-size=8', 'src/server.ts'].
 * The script starts with `exec` so that the shell npm runs it in is replaced by node: a signal npm passes on
 * reaches the server itself, and npm exits when the server has.
 */
export function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const start = pkg.scripts?.start ?? '';
  const [exec, ...argv] = start.trim().split(/\s+/);
  if (exec !== 'exec' || argv[0] !== 'node' || argv.at(-1) !== 'src/server.ts' || /[$`'"|&;<>]/.test(start)) {
    throw new Error(`package.json scripts.start must be "exec node [flags] src/server.ts" without other shell syntax, not ${JSON.stringify(start)}`);
  }
  return argv;
}

/** The Node flags of `npm start` (between `node` and the script). */
export function serviceNodeFlags(): string[] {
  return startCommand().slice(1, -1);
}

/** The image's command: the bundled entry with the flags of `npm start`. */
export function imageCommand(): string[] {
  return ['node', ...serviceNodeFlags(), IMAGE_ENTRY];
}
