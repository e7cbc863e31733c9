// Shutdown under load: 64 clients hammer GET / and the server gets SIGTERM. /readyz must fail at once; every request
// that got a 200 must be in the file; no response may be cut off mid-way; every visit counted must have been
// answered (file counter == 200s received); the process must exit 0 within drain + timeout.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { duplicates, gaps, maxOf, readState, request, startLoad, startServer, STATE_FILE, summariseErrors, waitUntil } from './harness.ts';
import type { Scenario } from './scenario.ts';

const CLIENTS = 64;
const DRAIN_MS = 1_000;
const TIMEOUT_MS = 10_000;
const ROUNDS = 3;

export const shutdownUnderLoad: Scenario = {
  name: 'shutdown-under-load',
  proves: `SIGTERM while ${CLIENTS} clients hammer /: readyz 503 at once, every 200 in the file, no cut response, exit 0 in time (${ROUNDS} rounds)`,
  needs: {},
  async run(ctx) {
    const dir = ctx.tempDir();
    const file = path.join(dir, STATE_FILE);
    const acked: number[] = [];
    const summaries: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const server = await startServer({ dataDir: dir, env: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS) } });
      ctx.defer(() => server.kill());
      ctx.figures.runs++;
      const url = server.url;
      const load = startLoad(() => url, { clients: CLIENTS });
      await sleep(800 + Math.random() * 700);
      const okBefore = load.result.ok;
      const sigtermAt = performance.now();
      server.signal('SIGTERM');
      // /readyz must fail at once, while the server keeps serving during the drain.
      const notReadyMs = await waitUntil(async () => (await request(`${url}/readyz`, { timeoutMs: 1_000 })).status === 503, 500, 10);
      ctx.check(notReadyMs !== undefined, `round ${round}: /readyz not 503 within 500 ms of SIGTERM`);
      const exit = await Promise.race([server.exited, sleep(DRAIN_MS + TIMEOUT_MS + 2_000).then(() => undefined)]);
      const exitMs = Math.round((exit?.at ?? performance.now()) - sigtermAt);
      await sleep(100);
      const result = await load.stop();
      ctx.check(exit !== undefined && exit.code === 0, `round ${round}: exit ${exit ? `code ${exit.code} signal ${exit.signal}` : 'timed out'} (want 0)`);
      ctx.check(exitMs <= DRAIN_MS + TIMEOUT_MS, `round ${round}: exit took ${exitMs} ms (limit ${DRAIN_MS + TIMEOUT_MS})`);
      ctx.check(result.cut === 0, `round ${round}: ${result.cut} response(s) cut mid-way`);
      ctx.check(result.unavailable === 0 && Object.keys(result.otherStatus).length === 0, `round ${round}: non-200 answers: ${result.unavailable} × 503, ${JSON.stringify(result.otherStatus)}`);
      acked.push(...result.acked);
      const state = readState(file);
      if (!('counter' in state)) {
        ctx.check(false, `round ${round}: visits.json ${state.problem}`);
        ctx.figures.corrupt++;
        continue;
      }
      const counter = state.counter;
      ctx.check(counter >= maxOf(acked), `round ${round}: file ${counter} < highest acknowledged ${maxOf(acked)}`);
      // Everything counted was answered: a visit counted but never answered would be a response lost in shutdown.
      ctx.check(counter === acked.length, `round ${round}: file counter ${counter} but ${acked.length} visits acknowledged in total`);
      ctx.check(server.logs.some((l) => l.msg === 'shutdown: complete'), `round ${round}: no "shutdown: complete" log line`);
      summaries.push(
        `round ${round}: ${okBefore} ok before SIGTERM, ${result.ok - okBefore} during drain/close; readyz 503 after ${notReadyMs} ms; exit ${exit?.code} after ${exitMs} ms; ` +
          `client errors after close: ${summariseErrors(result)}`,
      );
    }
    const final = readState(file);
    const counter = 'counter' in final ? final.counter : NaN;
    ctx.figures.acknowledged = acked.length;
    ctx.figures.lost = acked.filter((n) => n > counter).length + duplicates(acked);
    ctx.check(gaps(acked) === 0, `${gaps(acked)} gaps in the acknowledged numbers`);
    ctx.note(`${summaries.join('\n    ')}\n    final counter ${counter} = ${acked.length} acknowledged visits, 0 cut`);
  },
};
