// Permission denied: the server runs as uid/gid 65534 (`setpriv --reuid=65534 --regid=65534 --clear-groups`) on
// directories owned by root. Root ignores file modes, which is why this needs a real unprivileged process. Every case
// must end in a clear startup error (exit 1, one fatal line naming the file), and restarting it again and again (a
// crash loop under a supervisor) must never change a byte. A directory that is not writable at startup stops it too
// (it cannot take the data-directory lock or a durable write; src/server.ts), and it starts once it may write.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  type LaunchOptions,
  lingeringTempFiles,
  readState,
  REPO,
  run,
  SERVER,
  ServerProcess,
  startServer,
  STATE_FILE,
  visit,
  withTimeout,
} from './harness.ts';
import { LOCK_FILE_NAME } from '../../src/service/data-dir-lock.ts';
import type { Context, Scenario } from './scenario.ts';

const NOBODY = 65534;
const RESTARTS = 5;
const PREFIX = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

/** A snapshot of everything in a directory (names, bytes, modes, owners) to prove nothing changed. */
function snapshot(dir: string): string {
  if (!fs.existsSync(dir)) return 'missing';
  return fs
    .readdirSync(dir)
    // The data-directory lock and its holder note are the server's own (src/service/data-dir-lock.ts), written by a start
    // that got as far as the lock; everything else must stay byte-for-byte.
    .filter((name) => !name.startsWith('.rollcall.lock'))
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      const stat = fs.lstatSync(file);
      const hash = stat.isFile() ? crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16) : '-';
      return `${name} ${stat.mode.toString(8)} ${stat.uid}:${stat.gid} ${stat.size} ${hash}`;
    })
    .join('\n');
}

/** The node binary may sit under /root (mode 0700): give uid 65534 a copy it can execute. */
async function nodeForNobody(ctx: Context, base: string): Promise<string> {
  const probe = await run(PREFIX[0] as string, [...PREFIX.slice(1), process.execPath, '--version']);
  if (probe.code === 0) return process.execPath;
  const copy = path.join(base, 'node');
  fs.copyFileSync(process.execPath, copy);
  fs.chmodSync(copy, 0o755);
  ctx.log(`uid ${NOBODY} cannot run ${process.execPath}; using a copy at ${copy}`);
  return copy;
}

/**
 * The checkout may sit where uid 65534 cannot read (a clone under a 0700 `mktemp -d`, or under /root): give it a
 * copy of what the server needs (src/, package.json, the dependencies without the dev-only packages).
 */
async function serverForNobody(ctx: Context, base: string, node: string): Promise<string | undefined> {
  const probe = await run(PREFIX[0] as string, [...PREFIX.slice(1), node, '-e', 'require("node:fs").accessSync(process.argv[1], 4)', SERVER]);
  if (probe.code === 0) return undefined;
  const app = path.join(base, 'app');
  const devOnly = new Set(Object.keys((JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { devDependencies?: object }).devDependencies ?? {}));
  for (const entry of ['src', 'package.json', 'node_modules']) {
    fs.cpSync(path.join(REPO, entry), path.join(app, entry), {
      recursive: true,
      filter: (from) => {
        const relative = path.relative(path.join(REPO, 'node_modules'), from).split(path.sep);
        return relative[0] === '..' || !(devOnly.has(relative[0]!) || devOnly.has(`${relative[0]}/${relative[1]}`));
      },
    });
  }
  await run('chmod', ['-R', 'a+rX', app]);
  ctx.log(`uid ${NOBODY} cannot read ${SERVER}; using a copy of the app at ${app}`);
  return path.join(app, 'src', 'server.ts');
}

/** How uid 65534 starts the server: its node binary, setpriv in front, and the app copy when it needs one. */
type Runtime = Pick<LaunchOptions, 'node' | 'prefix' | 'server'>;

/** Starts the server `RESTARTS` times; each must exit 1 with one fatal line naming `named` (the file the error is
 * about: the lock file, the state file or the directory), changing nothing under `watched`. */
async function expectRefusedStart(ctx: Context, runtime: Runtime, dataDir: string, watched: string, what: string, problem: RegExp, named: string): Promise<string> {
  const before = snapshot(watched);
  let line = '';
  for (let i = 0; i < RESTARTS; i++) {
    ctx.figures.runs++;
    const server = new ServerProcess({ dataDir, ...runtime });
    const exit = await withTimeout(server.exited, 30_000, `${what}: server did not exit within 30 s`).catch(async (error: Error) => {
      ctx.check(false, error.message);
      return server.kill();
    });
    const errors = server.errorLines();
    ctx.check(exit.code === 1, `${what}: exit code ${exit.code} (want 1)`);
    ctx.check(server.port === 0, `${what}: server listened`);
    ctx.check(errors.length === 1 && server.logs.length === 1, `${what}: ${server.logs.length} log line(s), ${errors.length} at error/fatal (want exactly one): ${server.describeOutput()}`);
    const fatal = errors[0];
    const text = fatal ? JSON.stringify(fatal) : '';
    ctx.check(fatal !== undefined && String(fatal.msg).startsWith(`cannot start: ${named}: `) && problem.test(text), `${what}: log line does not name ${named} and the problem: ${text}`);
    line = typeof fatal?.msg === 'string' ? fatal.msg : line;
  }
  const after = snapshot(watched);
  if (!ctx.check(before === after, `${what}: files changed after ${RESTARTS} refused starts:\n${before}\n→\n${after}`)) ctx.figures.corrupt++;
  return line;
}

export const permissionDenied: Scenario = {
  name: 'permission-denied',
  proves: `uid ${NOBODY} on root-owned dirs: clear exit 1 (unwritable dir included), start once writable; ${RESTARTS} restarts each change no byte`,
  needs: { root: true, tools: ['setpriv'] },
  async run(ctx) {
    const base = ctx.tempDir();
    fs.chmodSync(base, 0o755);
    const node = await nodeForNobody(ctx, base);
    const entry = await serverForNobody(ctx, base, node);
    const runtime: Runtime = { node, prefix: PREFIX, ...(entry ? { server: entry } : {}) };

    // A. Directory not writable, file readable: startup stops (exit 1, EACCES named), then starts once it may write.
    const a = path.join(base, 'a');
    fs.mkdirSync(a, { mode: 0o755 });
    fs.writeFileSync(path.join(a, STATE_FILE), '{"counter": 42}', { mode: 0o644 });
    const denied = /EACCES|permission denied/i;
    // The lock comes first: the line names the lock file it could not create (not visits.json, which it never reached).
    const lineA = await expectRefusedStart(ctx, runtime, a, a, 'unwritable dir', denied, path.join(a, LOCK_FILE_NAME));
    fs.chownSync(a, NOBODY, NOBODY);
    const server = await startServer({ dataDir: a, ...runtime });
    ctx.defer(() => server.kill());
    ctx.figures.runs++;
    const next = await visit(server.url);
    ctx.check(next.visit === 43, `unwritable dir: first visit after chown got ${next.visit} (want 43)`);
    const after = readState(path.join(a, STATE_FILE));
    if (!ctx.check('counter' in after && after.counter === 43, `after chown: file is ${JSON.stringify(after)}`)) ctx.figures.corrupt++;
    ctx.figures.acknowledged += next.visit === undefined ? 0 : 1;
    ctx.figures.lost += 'counter' in after && after.counter >= 43 ? 0 : 1;
    const lingering = await lingeringTempFiles(a, 300);
    ctx.check(lingering.length === 0, `after chown: temp files ${lingering.join(', ')}`);
    await server.kill();

    // B. The state file itself is unreadable (root, 0600).
    const b = path.join(base, 'b');
    fs.mkdirSync(b, { mode: 0o755 });
    fs.chownSync(b, NOBODY, NOBODY);
    fs.writeFileSync(path.join(b, STATE_FILE), '{"counter": 7}', { mode: 0o600 });
    // C. DATA_DIR does not exist and cannot be created.
    const c = path.join(base, 'c');
    fs.mkdirSync(c, { mode: 0o755 });
    // D. A temp file left by a crash (of a root process) cannot be removed.
    const d = path.join(base, 'd');
    fs.mkdirSync(d, { mode: 0o755 });
    fs.writeFileSync(path.join(d, STATE_FILE), '{"counter": 9}');
    fs.writeFileSync(path.join(d, `${STATE_FILE}.999999.1.tmp`), '{"coun');
    const [lineB, lineC, lineD] = await Promise.all([
      expectRefusedStart(ctx, runtime, b, b, 'unreadable file', denied, path.join(b, STATE_FILE)),
      expectRefusedStart(ctx, runtime, path.join(c, 'data'), c, 'cannot create DATA_DIR', denied, path.join(c, 'data')),
      // A root-owned directory: the lock file cannot be created, before the temp file is ever looked at.
      expectRefusedStart(ctx, runtime, d, d, 'stale temp file not removable', denied, path.join(d, LOCK_FILE_NAME)),
    ]);

    ctx.note(
      `unwritable dir: "${lineA}", after chown it starts and stores visit 43; ` +
        `refused starts (exit 1, ${RESTARTS}× each, no byte changed): "${lineB}"; "${lineC}"; "${lineD}"`,
    );
  },
};
