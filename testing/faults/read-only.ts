// Read-only volume mid-run: DATA_DIR is bind-mounted on itself in a private mount namespace (a real directory on
// the host disk), the server runs there under load from 8 clients, and the test remounts it `remount,bind,ro` and
// later `rw`. While read-only: reads keep working, visits get 503 (EROFS), /readyz 503, no crash, the file keeps the
// last acknowledged count. After rw: the service recovers by itself and no acknowledged visit is missing.
//
// The lock file sits on a mount of its own. The server holds DATA_DIR/.rollcall.lock open read-write for its whole
// life (src/service/data-dir-lock.ts), and Linux refuses to make a mount read-only while any file on it is open for writing:
// `mount -o remount,bind,ro` fails with EBUSY (fs/namespace.c, mnt_make_readonly: a mount with writers cannot be
// flagged read-only; the same holds for a whole file system, sb_prepare_remount_readonly). That is an operator's
// remount only. What this scenario stands for, a volume that turns read-only under a running service, is what the
// kernel does to a file system after an error with errors=remount-ro (fs/ext4/super.c, ext4_handle_error: it sets
// SB_RDONLY on the super block itself, whatever is open for writing): from then on every create, rename and unlink
// gets EROFS. To get the same EROFS here with the lock held, a small file outside DATA_DIR is bind-mounted onto
// DATA_DIR/.rollcall.lock before the server starts: the lock's writable descriptor then belongs to that file's
// mount, the remount of DATA_DIR to read-only succeeds, and the store's temp files, renames and unlinks in DATA_DIR
// get a real EROFS from the kernel. The lock itself is unaffected (SQLite never writes the lock file after taking
// the lock, and the holder file is written once at startup and closed). If a future change keeps another file open
// for writing in DATA_DIR, the remount fails again and the scenario names that file.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_FILE_NAME } from '../../src/service/data-dir-lock.ts';
import {
  duplicates,
  FAULT_PRELOAD,
  type FaultEvent,
  getJson,
  lingeringTempFiles,
  maxOf,
  readState,
  readyStatus,
  type ServerProcess,
  startLoad,
  startServer,
  STATE_FILE,
  summariseErrors,
  tempFiles,
  visit,
  waitUntil,
} from './harness.ts';
import { MountNamespace } from './namespace.ts';
import type { Scenario } from './scenario.ts';

/** True when the newest temp file the seam saw has been written, fsynced and closed (it waits for its rename). */
function isLastPrepared(events: FaultEvent[]): boolean {
  const opened = events.filter((e) => e.op === 'open' && String(e.path).endsWith('.tmp')).at(-1);
  return opened !== undefined && events.some((e) => e.op === 'close' && e.path === opened.path) && !events.some((e) => e.op === 'rename' && e.from === opened.path);
}

/** Files under `dir` that process `pid` holds open for writing (what makes a read-only remount fail with EBUSY). */
function openForWriting(pid: number, dir: string): string[] {
  const found: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8);
      // O_ACCMODE: 0 = O_RDONLY, 1 = O_WRONLY, 2 = O_RDWR.
      if (target.startsWith(`${dir}/`) && (flags & 3) !== 0) found.push(target);
    } catch {
      // closed in between
    }
  }
  return found;
}

async function remountReadOnly(ns: MountNamespace, server: ServerProcess, dir: string): Promise<number> {
  try {
    return await ns.remount('ro', true);
  } catch (error) {
    const writers = server.alive ? openForWriting(server.nodePid(), dir) : [];
    throw new Error(`${(error as Error).message}; the server holds open for writing: ${writers.join(', ') || 'nothing'} (see the header of read-only.ts)`, { cause: error });
  }
}

export const readOnly: Scenario = {
  name: 'read-only',
  proves: 'volume remounted read-only under load: reads work, visits 503 (EROFS), no crash, file intact; rw → recovers',
  needs: { root: true, tools: ['unshare', 'nsenter', 'mount'], mountNamespace: true },
  async run(ctx) {
    const base = ctx.tempDir();
    const mountpoint = path.join(base, 'data');
    fs.mkdirSync(mountpoint);
    const ns = await MountNamespace.bind(mountpoint);
    ctx.defer(() => ns.close());
    const file = path.join(mountpoint, STATE_FILE); // same directory on the host disk: the bind mount adds only the ro flag
    // The lock file on a mount of its own (see the header): remount,ro of DATA_DIR must not count its writer.
    const lockSide = path.join(base, 'lock-side');
    fs.mkdirSync(lockSide);
    await ns.bindFile(path.join(lockSide, LOCK_FILE_NAME), path.join(mountpoint, LOCK_FILE_NAME));

    const control = path.join(ctx.tempDir(`${ctx.name}-control`), 'faults');
    const setFaults = (switches: string) => fs.writeFileSync(control, switches);
    // The preload only observes, except in the last phase, where it delays one rename.
    const server = await startServer({ dataDir: mountpoint, prefix: ns.prefix, nodeArgs: ['--import', FAULT_PRELOAD], env: { FAULT_CONTROL: control } });
    ctx.defer(() => server.kill());
    ctx.figures.runs = 1;
    const load = startLoad(() => server.url, { clients: 8 });
    ctx.defer(() => load.stop()); // if a step throws, its client loops must not outlive the scenario
    await sleep(700);

    const attempts = await remountReadOnly(ns, server, mountpoint);
    const roAt = performance.now();
    await sleep(300); // batches already past their rename may still finish
    const okAtRo = load.result.ok;
    const before = readState(file);
    const refused = await Promise.all(Array.from({ length: 10 }, () => visit(server.url)));
    ctx.check(refused.every((r) => r.status === 503 && (r.code === 'EROFS' || r.code === 'EABORTED')), `read-only: visits got ${JSON.stringify([...new Set(refused.map((r) => `${r.status}/${r.code}`))])}`);
    const visits = await getJson(`${server.url}/visits`);
    ctx.check(visits.status === 200, `/visits answered ${visits.status} on a read-only volume`);
    ctx.check((await getJson(`${server.url}/healthz`)).status === 200, '/healthz not 200 on a read-only volume');
    ctx.check((await readyStatus(server.url)) === 503, '/readyz not 503 on a read-only volume');
    await sleep(1_200);
    ctx.check(server.alive, 'server exited on a read-only volume');
    // A temp file written just before the remount cannot be unlinked while the volume is read-only: expected here.
    const stuck = await lingeringTempFiles(mountpoint, 300);
    const during = readState(file);
    if (!ctx.check('counter' in before && 'counter' in during && before.counter === during.counter, `visits.json changed while read-only: ${JSON.stringify(before)} → ${JSON.stringify(during)}`)) ctx.figures.corrupt++;
    const ackedSoFar = maxOf(load.result.acked);
    ctx.check('counter' in during && during.counter >= ackedSoFar, `while read-only the file holds ${JSON.stringify(during)} < highest acknowledged ${ackedSoFar}`);
    ctx.check(visits.json.counter === ('counter' in during ? during.counter : NaN), `/visits says ${String(visits.json.counter)}, the file ${JSON.stringify(during)}`);
    const okDuringRo = load.result.ok - okAtRo;
    ctx.check(okDuringRo === 0, `${okDuringRo} visits acknowledged while the volume was read-only`);

    await ns.remount('rw', true);
    const roSeconds = ((performance.now() - roAt) / 1000).toFixed(1);
    const recoveredMs = await waitUntil(async () => (await readyStatus(server.url)) === 200, 5_000);
    ctx.check(recoveredMs !== undefined, 'not ready within 5 s after remounting rw');
    await sleep(700);
    const result = await load.stop();
    const acked = [...result.acked];
    const last = await visit(server.url);
    if (last.visit !== undefined) acked.push(last.visit);
    ctx.check(last.status === 200, `a visit after recovery got ${last.status}`);

    const final = readState(file);
    if (!ctx.check('counter' in final, `visits.json unreadable at the end: ${JSON.stringify(final)}`)) ctx.figures.corrupt++;
    const counter = 'counter' in final ? final.counter : NaN;
    ctx.figures.acknowledged = acked.length;
    ctx.figures.lost = acked.filter((n) => n > counter).length + duplicates(acked);
    ctx.check(counter <= result.sent + 11, `file counter ${counter} > visits sent ${result.sent + 11}`);
    ctx.check(result.cut === 0, `${result.cut} responses cut`);
    // Deterministic version of the race above: a temp file written and fsynced, then the volume goes read-only
    // before its rename. rename → EROFS, and the unlink of the temp file fails with EROFS too.
    const earlier = new Set(tempFiles(mountpoint));
    setFaults('rename-delay=600');
    const pending = visit(server.url);
    const prepared = await waitUntil(() => isLastPrepared(server.events), 2_000, 10);
    await remountReadOnly(ns, server, mountpoint);
    const caught = await pending;
    setFaults('');
    ctx.check(prepared !== undefined && caught.status === 503 && caught.code === 'EROFS', `read-only between prepare and rename: ${JSON.stringify(caught)}`);
    const stranded = tempFiles(mountpoint).filter((name) => !earlier.has(name));
    ctx.check(stranded.length === 1, `read-only between prepare and rename: new temp files ${stranded.join(', ') || 'none'} (want the one that could not be removed)`);
    await ns.remount('rw', true);
    ctx.check((await waitUntil(async () => (await readyStatus(server.url)) === 200, 5_000)) !== undefined, 'not ready within 5 s after the second rw remount');
    const once = await visit(server.url);
    if (once.visit !== undefined) acked.push(once.visit);
    ctx.check(once.visit === counter + 1, `first visit after the second recovery got ${once.visit} (want ${counter + 1})`);
    // Once writable again the store removes what it could not remove before (BUGS.md #1, fixed).
    const leftover = tempFiles(mountpoint);
    ctx.check(leftover.length === 0, `${leftover.length} temp file(s) still there after recovery (${leftover.join(', ')})`);
    ctx.figures.acknowledged = acked.length;
    ctx.figures.lost = acked.filter((n) => n > counter + 1).length + duplicates(acked);
    // A restart removes temp files and never reads them; the count is unchanged.
    const exit = await server.stop();
    ctx.check(exit.code === 0, `SIGTERM after the run: exit ${exit.code}`);
    const restarted = await startServer({ dataDir: mountpoint, prefix: ns.prefix });
    ctx.defer(() => restarted.kill());
    ctx.figures.runs++;
    ctx.check(tempFiles(mountpoint).length === 0, `temp files after a restart: ${tempFiles(mountpoint).join(', ')}`);
    const reloaded = await getJson(`${restarted.url}/visits`);
    ctx.check(reloaded.json.counter === counter + 1, `after a restart /visits says ${String(reloaded.json.counter)} (want ${counter + 1})`);
    await restarted.stop();
    ctx.note(
      `read-only for ${roSeconds} s (remount took ${attempts} attempt(s)): load got ${result.unavailable} × 503 and ${okDuringRo} × 200 in that window ` +
        `(${okAtRo} acknowledged before it), /visits and /healthz kept answering; ${stuck.length} temp file(s) stuck while read-only; rw → ready in ${recoveredMs} ms; ` +
        `${acked.length} acknowledged, counter after the load ${counter}, client errors: ${summariseErrors(result)}`,
    );
  },
};
