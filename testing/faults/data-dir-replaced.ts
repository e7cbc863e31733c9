// DATA_DIR replaced while the server runs, three ways: a symlink repointed, `rm -rf` and `mkdir`, another volume
// mounted on it. Before, the server renamed into the new directory without ever locking it: one server's count went
// back from 1001 to 3 on disk, and two servers both owned a directory and handed out 4, 4, 5, 5. Now the server keeps
// to the directory it locked: once the path names another one, every visit gets 503 EDATADIRREPLACED and /readyz 503
// `data-dir-replaced`, nothing of it appears in the new directory, and a second server started on the path owns the
// new directory alone. When the path names the locked directory again (the symlink pointed back), it recovers.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { duplicates, getJson, readState, type ServerProcess, startLoad, startServer, STATE_FILE, visit, waitUntil } from './harness.ts';
import { MountNamespace } from './namespace.ts';
import type { Context, Scenario } from './scenario.ts';

const CLIENTS = 4;
const LOAD_MS = 800;

interface Case {
  name: string;
  /** Sets up the directory the server is started on; returns it and how to reach files in the new one. */
  setUp(ctx: Context, base: string): Promise<{ dataDir: string; prefix?: string[]; replace(): Promise<void>; newPath(file: string): string; oldPath(file: string): string; restore?(): Promise<void> }>;
}

const counterIn = (file: string): number | undefined => {
  const state = readState(file);
  return 'counter' in state ? state.counter : undefined;
};

async function refusedWith(server: ServerProcess): Promise<{ status: number; code?: string }> {
  return visit(server.url);
}

async function runCase(ctx: Context, c: Case): Promise<string> {
  const base = ctx.tempDir(`replaced-${c.name.replace(/\W+/g, '-')}`);
  const setup = await c.setUp(ctx, base);
  const prefix = setup.prefix ? { prefix: setup.prefix } : {};
  const first = await startServer({ dataDir: setup.dataDir, env: { POD_NAME: 'first' }, ...prefix });
  ctx.defer(() => first.kill());
  ctx.figures.runs++;
  const load = startLoad(() => first.url, { clients: CLIENTS });
  await sleep(LOAD_MS);
  const before = await load.stop();
  const firstAcked = [...before.acked];
  ctx.check(firstAcked.length > 0, `${c.name}: no visit acknowledged before the replacement`);

  await setup.replace();
  const refused = await refusedWith(first);
  ctx.check(refused.status === 503 && refused.code === 'EDATADIRREPLACED', `${c.name}: a visit after the replacement got ${refused.status} ${refused.code ?? ''} (want 503 EDATADIRREPLACED)`);
  const ready = await getJson(`${first.url}/readyz`);
  ctx.check(ready.status === 503 && ready.json['reason'] === 'data-dir-replaced', `${c.name}: /readyz ${ready.status} ${JSON.stringify(ready.json)} (want 503 data-dir-replaced)`);
  const leaked = fs.readdirSync(setup.newPath(''));
  ctx.check(leaked.length === 0, `${c.name}: the first server wrote into the new directory: ${leaked.join(', ')}`);

  // A second server on the path owns the new directory; the first one never writes there.
  const second = await startServer({ dataDir: setup.dataDir, env: { POD_NAME: 'second' }, ...prefix });
  ctx.defer(() => second.kill());
  ctx.figures.runs++;
  const secondAcked: number[] = [];
  const firstRefused: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = await visit(second.url);
    if (s.visit !== undefined) secondAcked.push(s.visit);
    const f = await visit(first.url);
    if (f.visit !== undefined) firstAcked.push(f.visit);
    else firstRefused.push(f.status);
  }
  ctx.check(secondAcked.length === 20 && secondAcked[0] === 1 && secondAcked.at(-1) === 20, `${c.name}: the second server handed out ${secondAcked.join(',')} (want 1..20)`);
  ctx.check(firstRefused.length === 20 && firstRefused.every((s) => s === 503), `${c.name}: the first server answered ${firstRefused.join(',')} while replaced (want 20 × 503)`);
  const newCounter = counterIn(setup.newPath(STATE_FILE));
  ctx.check(newCounter === 20, `${c.name}: the new directory's visits.json holds ${newCounter} (want the second server's 20)`);
  const oldCounter = counterIn(setup.oldPath(STATE_FILE));
  const firstMax = Math.max(...firstAcked);
  ctx.check(oldCounter === undefined || oldCounter === firstMax, `${c.name}: the locked directory's visits.json holds ${oldCounter} (want the first server's ${firstMax})`);
  if (oldCounter === undefined) ctx.note(`${c.name}: the locked directory is gone with its files (rm -rf), as the operator asked`);
  else if (!ctx.check(oldCounter >= firstMax, `${c.name}: acknowledged visits lost`)) ctx.figures.lost += firstAcked.filter((n) => n > oldCounter).length;
  ctx.figures.acknowledged += firstAcked.length + secondAcked.length;
  ctx.check(duplicates(firstAcked) === 0, `${c.name}: the first server handed out a number twice`);

  let recovered = '';
  if (setup.restore) {
    await setup.restore();
    const ms = await waitUntil(async () => (await getJson(`${first.url}/readyz`)).status === 200, 5_000, 100);
    const next = await visit(first.url);
    ctx.check(ms !== undefined && next.visit === firstMax + 1, `${c.name}: after the path named the locked directory again: /readyz ${ms === undefined ? 'not 200 in 5 s' : `200 after ${ms} ms`}, next visit ${next.visit} (want ${firstMax + 1})`);
    const secondNow = await visit(second.url);
    ctx.check(secondNow.status === 503 && secondNow.code === 'EDATADIRREPLACED', `${c.name}: the second server, whose directory is no longer at the path, answered ${secondNow.status} (want 503)`);
    if (next.visit !== undefined) ctx.figures.acknowledged++;
    recovered = `; pointed back: first server ready again in ${ms} ms, next visit ${next.visit}, second server 503`;
  }
  await first.stop();
  await second.stop();
  return `${c.name}: ${before.acked.length} visits before, then 503 EDATADIRREPLACED and /readyz data-dir-replaced; nothing written into the new directory; a second server there counted 1..20 alone (its file ${newCounter}), the locked one holds ${oldCounter ?? 'nothing (removed)'}${recovered}`;
}

const symlinkRepointed: Case = {
  name: 'symlink repointed',
  async setUp(_ctx, base) {
    const a = path.join(base, 'a');
    const b = path.join(base, 'b');
    fs.mkdirSync(a, { mode: 0o755 });
    fs.mkdirSync(b, { mode: 0o755 });
    const link = path.join(base, 'data');
    fs.symlinkSync(a, link);
    // Repointed atomically, as `ln -sfn` over a rename would: a new link renamed over the old one.
    const point = (target: string) => {
      const tmp = `${link}.new`;
      fs.symlinkSync(target, tmp);
      fs.renameSync(tmp, link);
    };
    return {
      dataDir: link,
      replace: async () => point(b),
      restore: async () => point(a),
      newPath: (file) => path.join(b, file),
      oldPath: (file) => path.join(a, file),
    };
  },
};

const removedAndRecreated: Case = {
  name: 'rm -rf and mkdir',
  async setUp(_ctx, base) {
    const dir = path.join(base, 'data');
    fs.mkdirSync(dir, { mode: 0o755 });
    return {
      dataDir: dir,
      replace: async () => {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { mode: 0o755 });
      },
      newPath: (file) => path.join(dir, file),
      oldPath: (file) => path.join(dir, '.gone', file),
    };
  },
};

const volumeMounted: Case = {
  name: 'another volume mounted',
  async setUp(ctx, base) {
    const dir = path.join(base, 'data');
    fs.mkdirSync(dir, { mode: 0o755 });
    // A private mount namespace around the base: the tmpfs mounted on DATA_DIR exists only there, so outside it the
    // original directory (the locked one) stays readable at its path.
    const ns = await MountNamespace.bind(base);
    ctx.defer(() => ns.close());
    return {
      dataDir: dir,
      prefix: ns.prefix,
      replace: async () => {
        const result = await ns.exec(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', dir]);
        if (result.code !== 0) throw new Error(`mount tmpfs on ${dir} failed: ${result.stderr.trim()}`);
      },
      newPath: (file) => ns.path(path.join(dir, file)),
      oldPath: (file) => path.join(dir, file),
    };
  },
};

export const dataDirReplaced: Scenario = {
  name: 'data-dir-replaced',
  proves: 'DATA_DIR replaced while running (symlink repointed, rm -rf + mkdir, a volume mounted on it): the server never writes the new directory (503, not ready), a second server owns it alone, nothing acknowledged is lost; pointed back → recovers',
  needs: { root: true, tools: ['unshare', 'nsenter', 'mount'], mountNamespace: true },
  async run(ctx) {
    for (const c of [symlinkRepointed, removedAndRecreated, volumeMounted]) ctx.note(await runCase(ctx, c));
  },
};
