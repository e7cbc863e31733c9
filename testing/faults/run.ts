// Entry point of the real-fault suite: `npm run test:faults` (as root for the mount and permission scenarios).
// Runs every scenario one after another against the real server process and ends with the summary table.
//   node testing/faults/run.ts [scenario ...]   run only the named scenarios
//   FAULTS_QUIET=1                            no per-step log, only the table
// A scenario whose requirement (root, a tool, mount namespaces) is missing is skipped with the reason, except under
// CI=true, where a skip counts as a failure: CI must prove every promise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { badStateFiles } from './bad-state-files.ts';
import { connectionFlood, slowBodies } from './connection-pressure.ts';
import { crashLoop } from './crash-loop.ts';
import { dataDirFiles } from './data-dir-files.ts';
import { dataDirReplaced } from './data-dir-replaced.ts';
import { diskFull, shortWrite } from './disk-full.ts';
import { fsyncEio } from './fsync-eio.ts';
import { commandExists, killAllChildren, liveChildren, withTimeout } from './harness.ts';
import { httpAbuse } from './http-abuse.ts';
import { canUseMemoryCgroups } from './memory-cgroup.ts';
import { canUseMountNamespaces } from './namespace.ts';
import { permissionDenied } from './permission-denied.ts';
import { pipeliningFlood } from './pipelining-flood.ts';
import { readOnly } from './read-only.ts';
import { Context, type Scenario } from './scenario.ts';
import { shutdownUnderLoad } from './shutdown-under-load.ts';
import { twoProcesses } from './two-processes.ts';
import { unroutableRequests } from './unroutable-requests.ts';
import { writeOrder } from './write-order.ts';

const SCENARIOS: Scenario[] = [
  crashLoop,
  diskFull,
  shortWrite,
  readOnly,
  permissionDenied,
  fsyncEio,
  writeOrder,
  badStateFiles,
  httpAbuse,
  shutdownUnderLoad,
  unroutableRequests,
  twoProcesses,
  pipeliningFlood,
  dataDirReplaced,
  dataDirFiles,
  slowBodies,
  connectionFlood,
];
/** Per scenario; the whole suite takes a few minutes on 2 cores. */
const SCENARIO_TIMEOUT_MS = 180_000;

interface Row {
  scenario: string;
  runs: number | string;
  acknowledged: number | string;
  lost: number | string;
  corrupt: number | string;
  result: string;
  seconds: string;
}

const ci = process.env.CI === 'true';
const verbose = process.env.FAULTS_QUIET !== '1';

async function missingRequirement(scenario: Scenario): Promise<string | undefined> {
  const { needs } = scenario;
  if (needs.root && process.getuid?.() !== 0) return 'needs root';
  for (const tool of needs.tools ?? []) if (!(await commandExists(tool))) return `needs ${tool} (not installed)`;
  if (needs.memoryCgroup) {
    const missing = canUseMemoryCgroups();
    if (missing) return missing;
  }
  if (needs.mountNamespace) return canUseMountNamespaces();
  return undefined;
}

function leftovers(): string[] {
  const found: string[] = [];
  const live = liveChildren();
  if (live.length > 0) found.push(`processes still running: ${live.join(', ')}`);
  const dirs = fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('rollcall-faults-'));
  if (dirs.length > 0) found.push(`temp dirs left: ${dirs.map((d) => path.join(os.tmpdir(), d)).join(', ')}`);
  // Scenario mounts live in private namespaces and must never show up here.
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes('rollcall-faults-'));
  if (mounts.length > 0) found.push(`mounts left: ${mounts.join('; ')}`);
  return found;
}

async function runScenario(scenario: Scenario): Promise<{ row: Row; failures: string[]; notes: string[] }> {
  const started = performance.now();
  const ctx = new Context(scenario.name, verbose);
  const missing = await missingRequirement(scenario);
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  if (missing) {
    const result = ci ? 'FAIL' : 'skip';
    const reason = `${missing}${ci ? ' (CI=true: a missing requirement is a failure)' : ''}`;
    return { row: { scenario: scenario.name, runs: '-', acknowledged: '-', lost: '-', corrupt: '-', result, seconds: seconds() }, failures: ci ? [reason] : [], notes: [`skipped: ${reason}`] };
  }
  if (verbose) console.log(`\n▶ ${scenario.name}: ${scenario.proves}`);
  try {
    await withTimeout(scenario.run(ctx), SCENARIO_TIMEOUT_MS, `scenario timed out after ${SCENARIO_TIMEOUT_MS / 1000} s`);
  } catch (error) {
    ctx.failures.push(`scenario threw: ${(error as Error).stack ?? String(error)}`);
  }
  await ctx.cleanUp();
  killAllChildren();
  const { runs, acknowledged, lost, corrupt } = ctx.figures;
  if (lost > 0) ctx.failures.push(`${lost} acknowledged visit(s) lost`);
  if (corrupt > 0) ctx.failures.push(`${corrupt} corrupt or modified file(s)`);
  const result = ctx.failures.length === 0 ? 'pass' : 'FAIL';
  return { row: { scenario: scenario.name, runs, acknowledged, lost, corrupt, result, seconds: seconds() }, failures: ctx.failures, notes: ctx.notes };
}

function table(rows: Row[]): string {
  const headers: Record<keyof Row, string> = {
    scenario: 'scenario',
    runs: 'runs',
    acknowledged: 'acknowledged',
    lost: 'lost',
    corrupt: 'corrupt files',
    result: 'result',
    seconds: 's',
  };
  const keys = Object.keys(headers) as (keyof Row)[];
  const width = (key: keyof Row) => Math.max(headers[key].length, ...rows.map((row) => String(row[key]).length));
  const line = (cells: Record<keyof Row, string | number>) =>
    `| ${keys.map((key) => (key === 'scenario' ? String(cells[key]).padEnd(width(key)) : String(cells[key]).padStart(width(key)))).join(' | ')} |`;
  const rule = `|${keys.map((key) => `${key === 'scenario' ? ':' : '-'}${'-'.repeat(width(key))}${key === 'scenario' ? '-' : ':'}`).join('|')}|`;
  return [line(headers), rule, ...rows.map((row) => line(row))].join('\n');
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  const selected = wanted.length > 0 ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
  const started = performance.now();
  const rows: Row[] = [];
  const report: string[] = [];
  for (const scenario of selected) {
    const { row, failures, notes } = await runScenario(scenario);
    rows.push(row);
    report.push(`${scenario.name}: ${scenario.proves}`);
    for (const note of notes) report.push(`    ${note}`);
    for (const failure of failures) report.push(`    FAIL: ${failure}`);
  }
  const left = leftovers();
  const totalSeconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`\nReal-fault suite (node ${process.version}, ${os.cpus().length} cores, uid ${process.getuid?.()}, CI=${ci})\n`);
  console.log(report.join('\n'));
  console.log(`\n${table(rows)}\n`);
  for (const problem of left) console.log(`FAIL: ${problem}`);
  const failed = rows.filter((row) => row.result === 'FAIL').length + (left.length > 0 ? 1 : 0);
  const skipped = rows.filter((row) => row.result === 'skip').length;
  console.log(`${rows.length} scenarios: ${rows.length - failed - skipped} passed, ${skipped} skipped, ${failed} failed, in ${totalSeconds} s`);
  process.exitCode = failed > 0 ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}
process.on('exit', killAllChildren);

await main();
// Exit now rather than when the event loop runs dry: a scenario that threw or timed out may leave its client loops
// (startLoad retries a dead server every 5 ms forever) or timers behind, which would keep CI waiting after the table.
// stdout is a file or a pipe here, both written synchronously on Linux, so nothing printed is lost.
process.exit(process.exitCode);
