// Two processes on one data directory: while one server takes visits from 16 clients, a second one is started on
// the same DATA_DIR again and again. Each attempt must exit 1 at once with one line naming the directory and the
// holder, and touch nothing (the live server's temp files included: no visit may get 503 ENOENT). Then the holder is
// killed with SIGKILL and a replacement must start at once (the kernel drops the lock), with every acknowledged
// visit in the file. An operator's `visits.json.backup.tmp` survives every start.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { duplicates, gaps, maxOf, readState, ServerProcess, startLoad, startServer, STATE_FILE, summariseErrors, visit, withTimeout } from './harness.ts';
import type { Scenario } from './scenario.ts';

const CLIENTS = 4;
const ATTEMPTS = 10;

export const twoProcesses: Scenario = {
  name: 'two-processes',
  proves: `a second server on a live DATA_DIR exits 1 naming the holder, touching nothing (${ATTEMPTS}× under load); SIGKILL of the holder → replacement starts at once`,
  needs: {},
  async run(ctx) {
    const dir = ctx.tempDir();
    const file = path.join(dir, STATE_FILE);
    const backup = path.join(dir, `${STATE_FILE}.backup.tmp`);
    fs.writeFileSync(backup, 'an operator copy');
    const holder = await startServer({ dataDir: dir, env: { POD_NAME: 'rollcall-0' } });
    ctx.defer(() => holder.kill());
    ctx.figures.runs++;
    const load = startLoad(() => holder.url, { clients: CLIENTS });
    await sleep(300);
    const exits: string[] = [];
    const firstLines: string[] = [];
    const startMs: number[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const second = new ServerProcess({ dataDir: dir, env: { POD_NAME: 'rollcall-0-twin' } });
      ctx.defer(() => second.kill());
      ctx.figures.runs++;
      const exit = await withTimeout(second.exited, 30_000, 'the second server did not exit').catch(() => second.kill());
      startMs.push(Math.round(exit.at - second.started));
      exits.push(String(exit.code));
      ctx.check(exit.code === 1, `attempt ${i + 1}: second server exit ${exit.code} (want 1)`);
      ctx.check(second.port === 0, `attempt ${i + 1}: the second server listened`);
      ctx.check(second.logs.length === 1, `attempt ${i + 1}: ${second.logs.length} log lines (want 1): ${second.describeOutput()}`);
      const msg = String(second.logs[0]?.msg ?? '');
      ctx.check(msg.includes(dir) && msg.includes(`pid ${holder.pid}`) && msg.includes('rollcall-0'), `attempt ${i + 1}: line does not name the directory and the holder: ${msg}`);
      if (i === 0) firstLines.push(msg);
      await sleep(100);
    }
    const result = await load.stop();
    ctx.check(result.unavailable === 0, `${result.unavailable} visits got 503 while second servers were started (${summariseErrors(result)})`);
    ctx.check(fs.existsSync(backup), "the operator's visits.json.backup.tmp was removed");
    const state = readState(file);
    if (!ctx.check('counter' in state, `visits.json: ${JSON.stringify(state)}`)) ctx.figures.corrupt++;
    const counter = 'counter' in state ? state.counter : NaN;
    ctx.check(counter === result.acked.length, `file ${counter} but ${result.acked.length} visits acknowledged`);

    // Kill the holder; its replacement must not wait for anything.
    holder.signal('SIGKILL');
    await holder.exited;
    const killedAt = performance.now();
    const replacement = await startServer({ dataDir: dir, env: { POD_NAME: 'rollcall-0' } });
    ctx.defer(() => replacement.kill());
    ctx.figures.runs++;
    const takeoverMs = Math.round(performance.now() - killedAt);
    const next = await visit(replacement.url);
    ctx.check(next.visit === counter + 1, `after takeover the next visit is ${next.visit} (want ${counter + 1})`);
    await replacement.stop();
    const acked = [...result.acked, ...(next.visit === undefined ? [] : [next.visit])];
    ctx.figures.acknowledged = acked.length;
    const final = readState(file);
    const finalCounter = 'counter' in final ? final.counter : NaN;
    ctx.figures.lost = acked.filter((n) => n > finalCounter).length + duplicates(acked);
    ctx.check(duplicates(acked) === 0 && gaps(acked) === 0, `acknowledged numbers: ${duplicates(acked)} duplicates, ${gaps(acked)} gaps`);
    ctx.check(maxOf(acked) <= finalCounter, `file ${finalCounter} < highest acknowledged ${maxOf(acked)}`);
    ctx.note(
      `${ATTEMPTS} second servers under ${CLIENTS}-client load: exits ${[...new Set(exits)].join('/')} in ${Math.min(...startMs)}-${Math.max(...startMs)} ms, 0 touched files, ` +
        `${result.unavailable} × 503 among ${result.acked.length} acknowledged; line: "${firstLines[0]}"; SIGKILL of the holder → replacement listening in ${takeoverMs} ms`,
    );
  },
};
