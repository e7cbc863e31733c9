// How the service is run: the `start` script of package.json (`node <flags> src/server.ts`) is the one place that
// says it. The image's CMD must match it (test/service-command.test.ts checks), and the benchmark and `rollcall
// compare` start their servers with the same Node flags, so what they measure is what runs in the pod.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/** The command of `npm start` as argv, e.g. ['node', '--max-semi-space-size=8', 'src/server.ts']. */
export function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const start = pkg.scripts?.start ?? '';
  const argv = start.trim().split(/\s+/);
  if (argv[0] !== 'node' || argv.at(-1) !== 'src/server.ts' || /[$`'"|&;<>]/.test(start)) {
    throw new Error(`package.json scripts.start must be "node [flags] src/server.ts" without shell syntax, not ${JSON.stringify(start)}`);
  }
  return argv;
}

/** The Node flags of `npm start` (between `node` and the script). */
export function serviceNodeFlags(): string[] {
  return startCommand().slice(1, -1);
}
