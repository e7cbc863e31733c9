// The files the server keeps in DATA_DIR, and which directories it accepts, against the real process as root:
// - a system directory (`DATA_DIR=/etc`) → exit 2 with one line, nothing written there;
// - a directory every user may write to, or one another user owns → exit 1 with one line naming it, nothing created;
// - a symlink planted as `.rollcall.lock.holder` pointing at a root-only file → exit 1 naming the holder file, the
//   target byte-for-byte unchanged (before: the server, as root, truncated and overwrote it);
// - in a sticky directory of ours, another user (uid 65534) claims the temp names the old scheme would use next
//   (`visits.json.<pid>.<seq>.tmp`) → every visit still 200 (before: 503 EEXIST for every visit);
// - a damaged `.rollcall.lock` (it holds no data) → the server starts and counts on (before: exit 1, "file is not a
//   database", and a line naming visits.json as the file left untouched);
// - `.rollcall.lock` that cannot be a lock (a directory) → exit 1 with a line naming `.rollcall.lock`, not visits.json.
import fs from 'node:fs';
import path from 'node:path';
import { readState, run, ServerProcess, startServer, STATE_FILE, visit, withTimeout } from './harness.ts';
import type { Context, Scenario } from './scenario.ts';

const NOBODY = 65534;

async function refusedStart(ctx: Context, label: string, dataDir: string, wantCode: number, wantLine: RegExp): Promise<string> {
  const server = new ServerProcess({ dataDir });
  ctx.defer(() => server.kill());
  ctx.figures.runs++;
  const exit = await withTimeout(server.exited, 30_000, `${label}: did not exit`).catch(() => server.kill());
  const line = String(server.logs[0]?.msg ?? '');
  ctx.check(exit.code === wantCode, `${label}: exit ${exit.code} (want ${wantCode}): ${server.describeOutput()}`);
  ctx.check(server.logs.length === 1 && wantLine.test(line), `${label}: ${server.logs.length} line(s), first "${line}" (want one matching ${wantLine})`);
  return `${label} → exit ${exit.code}: "${line}"`;
}

export const dataDirFiles: Scenario = {
  name: 'data-dir-files',
  proves: 'system, world-writable and foreign DATA_DIRs refused with one line; no symlink followed (holder file); temp names another user claims change nothing; a damaged lock file does not stop a start; every error names its own file',
  needs: { root: true, tools: ['setpriv'] },
  async run(ctx) {
    const lines: string[] = [];
    // A system directory: nothing may appear in /etc.
    const etcBefore = fs.readdirSync('/etc').sort().join('\n');
    lines.push(await refusedStart(ctx, 'DATA_DIR=/etc', '/etc', 2, /^invalid environment: DATA_DIR: \/etc is a system directory/));
    ctx.check(fs.readdirSync('/etc').sort().join('\n') === etcBefore, '/etc changed');

    const base = ctx.tempDir();
    fs.chmodSync(base, 0o755);
    const open = path.join(base, 'world-writable');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    lines.push(await refusedStart(ctx, 'a 0777 DATA_DIR', open, 1, new RegExp(`^cannot start: ${open}: is writable by every user`)));
    ctx.check(fs.readdirSync(open).length === 0, 'files were created in the world-writable directory');

    const foreign = path.join(base, 'foreign');
    fs.mkdirSync(foreign, { mode: 0o755 });
    fs.chownSync(foreign, NOBODY, NOBODY);
    lines.push(await refusedStart(ctx, "uid 65534's DATA_DIR", foreign, 1, new RegExp(`^cannot start: ${foreign}: belongs to uid ${NOBODY}`)));
    ctx.check(fs.readdirSync(foreign).length === 0, "files were created in another user's directory");

    // A symlink planted where the holder file goes, aimed at a root-only file elsewhere.
    const planted = path.join(base, 'planted');
    fs.mkdirSync(planted, { mode: 0o755 });
    const secret = path.join(base, 'root-only');
    fs.writeFileSync(secret, 'root:only:content\n', { mode: 0o600 });
    fs.symlinkSync(secret, path.join(planted, '.rollcall.lock.holder'));
    lines.push(await refusedStart(ctx, 'holder file a symlink', planted, 1, new RegExp(`^cannot start: ${planted}/\\.rollcall\\.lock\\.holder: is a symlink; refusing to follow it`)));
    if (!ctx.check(fs.readFileSync(secret, 'utf8') === 'root:only:content\n', 'the symlink target was written')) ctx.figures.corrupt++;

    // The lock file cannot be a lock: the line names it, not visits.json.
    const lockDir = path.join(base, 'lock-is-dir');
    fs.mkdirSync(path.join(lockDir, '.rollcall.lock'), { recursive: true, mode: 0o755 });
    fs.chmodSync(lockDir, 0o755);
    lines.push(await refusedStart(ctx, '.rollcall.lock a directory', lockDir, 1, new RegExp(`^cannot start: ${lockDir}/\\.rollcall\\.lock: (?!.*visits\\.json)`)));

    // A damaged lock file: it holds no data, so it must not stop the start.
    const damaged = path.join(base, 'damaged');
    fs.mkdirSync(damaged, { mode: 0o755 });
    fs.writeFileSync(path.join(damaged, '.rollcall.lock'), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080, 0xa5)]));
    fs.writeFileSync(path.join(damaged, STATE_FILE), '{"counter": 41}');
    const recovered = await startServer({ dataDir: damaged });
    ctx.defer(() => recovered.kill());
    ctx.figures.runs++;
    const next = await visit(recovered.url);
    ctx.check(next.visit === 42, `damaged lock file: first visit ${next.visit} (want 42)`);
    await recovered.stop();
    lines.push(`a damaged .rollcall.lock → started, next visit ${next.visit}`);

    // A sticky directory of ours where uid 65534 may create files: it claims the temp names of the old scheme.
    const sticky = path.join(base, 'sticky');
    fs.mkdirSync(sticky);
    fs.chmodSync(sticky, 0o1777);
    const server = await startServer({ dataDir: sticky });
    ctx.defer(() => server.kill());
    ctx.figures.runs++;
    const pid = server.nodePid();
    const claim = await run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', `cd '${sticky}' && i=1; while [ $i -le 2000 ]; do : > ${STATE_FILE}.${pid}.$i.tmp; ln -s /etc/passwd ${STATE_FILE}.${pid}.$((i + 2000)).tmp; i=$((i + 1)); done`]);
    ctx.check(claim.code === 0, `uid ${NOBODY} could not claim the names: ${claim.stderr.trim()}`);
    const acked: number[] = [];
    const refused: string[] = [];
    for (let i = 0; i < 100; i++) {
      const v = await visit(server.url);
      if (v.visit !== undefined) acked.push(v.visit);
      else refused.push(`${v.status} ${v.code ?? ''}`);
    }
    ctx.check(refused.length === 0, `${refused.length} of 100 visits refused after another user claimed the temp names: ${[...new Set(refused)].join(', ')}`);
    await server.stop();
    const state = readState(path.join(sticky, STATE_FILE));
    if (!ctx.check('counter' in state && state.counter === 100, `sticky dir: visits.json ${JSON.stringify(state)} (want 100)`)) ctx.figures.corrupt++;
    ctx.check(fs.readFileSync('/etc/passwd', 'utf8').length > 0, '/etc/passwd emptied');
    ctx.figures.acknowledged += acked.length + (next.visit === undefined ? 0 : 1);
    lines.push(`uid ${NOBODY} claimed 4000 old-style temp names (files and symlinks to /etc/passwd) in a sticky DATA_DIR → ${acked.length}/100 visits 200`);
    for (const line of lines) ctx.note(line);
  },
};
