// Write order, seen by the kernel: the server runs under `strace -f` and, for each visit, the trace must show
//   write(temp) → fsync(temp) → rename(temp, visits.json) → fsync(directory) → write of the response on the socket,
// each step starting only after the previous one returned. Sequential visits check one write per visit; a burst of
// concurrent visits checks that every response waited for a completed chain holding its number (group commit).
import fs from 'node:fs';
import path from 'node:path';
import { request, startServer, STATE_FILE, visit, withTimeout } from './harness.ts';
import type { Context, Scenario } from './scenario.ts';

const SYSCALLS = 'openat,write,writev,pwrite64,pwritev,pwritev2,fsync,fdatasync,rename,renameat,renameat2';

interface Call {
  pid: string;
  name: string;
  args: string;
  result: string;
  /** Line where the call was entered and where it returned: order is judged on these. */
  start: number;
  end: number;
  text: string;
}

/** Parses `strace -f -yy` output, joining `<unfinished ...>` and `<... resumed>` halves. */
export function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const pending = new Map<string, Call>();
  text.split('\n').forEach((line, index) => {
    const head = /^(\d+)\s+(.*)$/.exec(line);
    if (!head) return;
    const [, pid = '', rest = ''] = head;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      const call = pending.get(pid);
      if (!call || call.name !== resumed[1]) return;
      pending.delete(pid);
      const tail = resumed[2] ?? '';
      const result = / = (.*)$/.exec(tail);
      call.args += tail.replace(/\)\s* = .*$/, '');
      call.result = result?.[1] ?? '';
      call.end = index;
      call.text += ` … ${tail}`;
      calls.push(call);
      return;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) return;
    const [, name = '', body = ''] = call;
    if (body.endsWith('<unfinished ...>')) {
      pending.set(pid, { pid, name, args: body.replace(/\s*<unfinished \.\.\.>$/, ''), result: '', start: index, end: -1, text: `${pid} ${rest}` });
      return;
    }
    const result = /\)\s* = (.*)$/.exec(body);
    calls.push({ pid, name, args: body.replace(/\)\s* = .*$/, ''), result: result?.[1] ?? '', start: index, end: index, text: `${pid} ${rest}` });
  });
  return calls.sort((a, b) => a.start - b.start);
}

const fdPath = (call: Call) => /^\d+<([^>]*)>/.exec(call.args)?.[1];
const ok = (call: Call) => !call.result.startsWith('-1');

interface Chain {
  value: number;
  write: Call;
  fsyncTemp: Call;
  rename: Call;
  fsyncDir: Call;
}

/** Every complete durable-write chain in the trace, each step starting after the previous one returned. */
function chains(calls: Call[], dir: string): Chain[] {
  const found: Chain[] = [];
  for (const write of calls) {
    if (!/^p?writev?2?$|^pwrite64$/.test(write.name) || !ok(write)) continue;
    const temp = fdPath(write);
    if (!temp?.endsWith('.tmp')) continue;
    const value = /\{\\"counter\\": (\d+)\}/.exec(write.args);
    if (!value) continue;
    const fsyncTemp = calls.find((c) => (c.name === 'fsync' || c.name === 'fdatasync') && fdPath(c) === temp && c.start > write.end && ok(c));
    if (!fsyncTemp) continue;
    const rename = calls.find((c) => c.name.startsWith('rename') && c.args.includes(`"${temp}"`) && c.start > fsyncTemp.end && ok(c));
    if (!rename) continue;
    const fsyncDir = calls.find((c) => c.name === 'fsync' && fdPath(c) === dir && c.start > rename.end && ok(c));
    if (!fsyncDir) continue;
    found.push({ value: Number(value[1]), write, fsyncTemp, rename, fsyncDir });
  }
  return found;
}

function responseWrite(calls: Call[], visit: number): Call | undefined {
  return calls.find((c) => /^(write|writev|sendmsg|sendto)$/.test(c.name) && c.args.includes('<TCP:[') && c.args.includes(`\\"visit\\":${visit},`));
}

function checkVisit(ctx: Context, calls: Call[], all: Chain[], n: number, exact: boolean): Chain | undefined {
  const response = responseWrite(calls, n);
  if (!ctx.check(response !== undefined, `visit ${n}: no response write on a TCP socket in the trace`)) return undefined;
  // The chain whose directory fsync returned before the response was written, holding this visit's number.
  const chain = all.find((c) => (exact ? c.value === n : c.value >= n) && c.fsyncDir.end < response!.start);
  ctx.check(chain !== undefined, `visit ${n}: no temp write → fsync → rename → fsync(dir) chain completed before its response (line ${response!.start})`);
  return chain;
}

function shorten(text: string): string {
  return text.length > 150 ? `${text.slice(0, 147)}...` : text;
}

export const writeOrder: Scenario = {
  name: 'write-order',
  proves: 'under strace: write(temp) → fsync(temp) → rename → fsync(dir) → socket write, for every acknowledged visit',
  needs: { tools: ['strace'] },
  async run(ctx) {
    const dir = fs.realpathSync(ctx.tempDir());
    const traceFile = path.join(ctx.tempDir(`${ctx.name}-trace`), 'strace.txt');
    const server = await startServer({ dataDir: dir, prefix: ['strace', '-f', '-qq', '-s', '4096', '-yy', '-o', traceFile, '-e', `trace=${SYSCALLS}`] });
    ctx.defer(() => server.kill());
    ctx.figures.runs = 1;
    const nodePid = server.nodePid();
    const sequential: number[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await visit(server.url);
      if (result.visit !== undefined) sequential.push(result.visit);
    }
    const burst = (await Promise.all(Array.from({ length: 20 }, () => visit(server.url)))).flatMap((r) => (r.visit === undefined ? [] : [r.visit]));
    await request(`${server.url}/visits`);
    // Stop node itself (strace exits with it) so the trace file is complete.
    server.signal('SIGTERM', nodePid);
    await withTimeout(server.exited, 10_000, 'traced server did not exit');
    const calls = parseTrace(fs.readFileSync(traceFile, 'utf8'));
    ctx.check(calls.length > 0, 'empty strace output');
    const all = chains(calls, dir);
    const acked = [...sequential, ...burst];
    ctx.check(acked.length === 25, `only ${acked.length} of 25 visits acknowledged under strace`);
    let shown: Chain | undefined;
    let response: Call | undefined;
    for (const n of sequential) {
      const chain = checkVisit(ctx, calls, all, n, true);
      if (n === sequential[2]) {
        shown = chain;
        response = responseWrite(calls, n);
      }
    }
    for (const n of burst) checkVisit(ctx, calls, all, n, false);
    const final = fs.readFileSync(path.join(dir, STATE_FILE), 'utf8');
    ctx.check(final === `{"counter": ${Math.max(...acked)}}`, `visits.json is ${final}`);
    ctx.figures.acknowledged = acked.length;
    ctx.figures.lost = acked.filter((n) => n > Math.max(...acked)).length;
    if (shown && response) {
      const lines = [shown.write, shown.fsyncTemp, shown.rename, shown.fsyncDir, response].map((c) => `      L${c.start}-${c.end} ${shorten(c.text)}`);
      ctx.note(`visit ${shown.value}, trace excerpt (line numbers: entry-return):\n${lines.join('\n')}`);
    }
    const batches = new Set(burst.map((n) => all.find((c) => c.value >= n && c.fsyncDir.end < (responseWrite(calls, n)?.start ?? 0))?.value)).size;
    ctx.note(`${sequential.length} sequential visits each behind their own chain; ${burst.length} concurrent visits served by ${batches} group commit(s), every response after its chain's fsync(dir); ${calls.length} syscalls traced`);
  },
};
