// Crash loop: load + SIGKILL at a random moment + restart, at least 50 times, on a real directory. After every
// cycle visits.json must parse as exactly {"counter": N}, with N >= every number any client was acknowledged (an
// acknowledged visit is never lost) and N <= the requests sent (nothing is invented). Temp files a crash leaves
// behind must be gone after the next start.
import { gaps, readState, startLoad, startServer, STATE_FILE, tempFiles, ServerProcess, duplicates, maxOf } from './harness.ts';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Scenario } from './scenario.ts';

const CYCLES = Number(process.env.FAULTS_CRASH_CYCLES ?? 60);
const CLIENTS = 16;
/** Kill after a random 0..MAX_LOAD_MS of load; every 10th cycle instead kills during startup. */
const MAX_LOAD_MS = 400;

export const crashLoop: Scenario = {
  name: 'crash-loop',
  proves: `${CYCLES} × (load from ${CLIENTS} clients + SIGKILL at a random moment + restart): no acknowledged visit lost, file always valid`,
  needs: {},
  async run(ctx) {
    const dir = ctx.tempDir();
    const file = path.join(dir, STATE_FILE);
    const acked: number[] = [];
    let sent = 0;
    let cut = 0;
    let killedDuringStartup = 0;
    let leftTemps = 0;
    let maxCounter = 0;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      ctx.figures.runs++;
      if (cycle % 10 === 0) {
        // A kill while the process starts: reading the file, removing old temp files, binding.
        const server = new ServerProcess({ dataDir: dir });
        await sleep(Math.random() * 250);
        await server.kill();
        killedDuringStartup++;
      } else {
        const server = await startServer({ dataDir: dir });
        const stale = tempFiles(dir).filter((name) => !name.includes(`.${server.nodePid()}.`));
        if (stale.length > 0) {
          leftTemps += stale.length;
          ctx.check(false, `cycle ${cycle}: temp files of an earlier process still there after start: ${stale.join(', ')}`);
        }
        const load = startLoad(() => server.url, { clients: CLIENTS });
        await sleep(Math.random() * MAX_LOAD_MS);
        await server.kill();
        const result = await load.stop();
        sent += result.sent;
        cut += result.cut;
        acked.push(...result.acked);
      }
      const state = readState(file);
      if ('problem' in state) {
        // A missing file is fine only before the first acknowledgement.
        if (acked.length === 0 && state.problem.includes('ENOENT')) continue;
        ctx.figures.corrupt++;
        ctx.check(false, `cycle ${cycle}: ${STATE_FILE} ${state.problem}`);
        continue;
      }
      const highest = maxOf(acked);
      const lostNow = acked.filter((n) => n > state.counter).length;
      ctx.check(lostNow === 0, `cycle ${cycle}: file counter ${state.counter} < highest acknowledged ${highest}`);
      ctx.check(state.counter <= sent, `cycle ${cycle}: file counter ${state.counter} > requests sent ${sent}`);
      ctx.check(state.counter >= maxCounter, `cycle ${cycle}: file counter went back from ${maxCounter} to ${state.counter}`);
      ctx.figures.lost = Math.max(ctx.figures.lost, lostNow);
      maxCounter = Math.max(maxCounter, state.counter);
    }
    // The same number acknowledged twice would mean a restart reissued it: the first one was lost.
    const dup = duplicates(acked);
    ctx.check(dup === 0, `${dup} visit number(s) acknowledged twice (a restart handed out a number again)`);
    ctx.figures.lost += dup;
    ctx.figures.acknowledged = acked.length;
    const final = readState(file);
    const counter = 'counter' in final ? final.counter : NaN;
    ctx.note(
      `cycles ${CYCLES} (${killedDuringStartup} killed during startup), requests sent ${sent}, acknowledged ${acked.length}, ` +
        `lost ${ctx.figures.lost}, final counter ${counter}, counted but unanswered (killed in flight) ${counter - acked.length}, ` +
        `responses cut by the kill ${cut}, gaps in acknowledged numbers ${gaps(acked)}, stale temp files after restart ${leftTemps}`,
    );
  },
};
