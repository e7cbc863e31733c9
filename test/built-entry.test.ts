// The production entry (scripts/build.ts, what the image runs) starts the same code as the sources: built into a
// temporary directory with no node_modules anywhere above it, it must answer like `node src/server.ts` does, exit 2
// on a bad environment variable and 0 after SIGTERM; the hook bundles must behave like their sources.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from '../scripts/build.ts';
import { followServerLog, type LogLine } from '../scripts/lib/server-log.ts';
import { serviceNodeFlags } from '../scripts/lib/service-command.ts';

const root = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'rollcall-built-'));
const outDir = path.join(work, 'app');
after(() => rmSync(work, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  url: string;
  logs: LogLine[];
  exited: Promise<number | string>;
}

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function spawnEntry(entry: string, env: Record<string, string>): { child: ChildProcess; logs: LogLine[]; exited: Promise<number | string>; listening: Promise<number> } {
  const child = spawn(process.execPath, [...serviceNodeFlags(), entry], {
    cwd: path.dirname(entry),
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stderr!.resume();
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  const { logs, listening } = followServerLog(child.stdout!);
  return { child, logs, exited, listening };
}

async function start(entry: string): Promise<Running> {
  const dataDir = mkdtempSync(path.join(work, 'data-'));
  const { child, logs, exited, listening } = spawnEntry(entry, { DATA_DIR: dataDir, SHUTDOWN_DRAIN_MS: '50', POD_NAME: 'rollcall-0', APP_VERSION: 'v-test' });
  const port = await Promise.race([listening, exited.then((code) => Promise.reject(new Error(`${entry} exited (${code}) before listening`)))]);
  return { child, url: `http://127.0.0.1:${port}`, logs, exited };
}

/** What a client sees of a running server, with the values that differ between two runs (time, durations) left out. */
async function observe(url: string): Promise<unknown> {
  const visit = await fetch(`${url}/`, { headers: { accept: 'application/json' } });
  const visitBody = (await visit.json()) as Record<string, unknown>;
  const html = await fetch(`${url}/`);
  const htmlText = await html.text();
  const visits = await fetch(`${url}/visits`);
  const readyz = await fetch(`${url}/readyz`);
  const missing = await fetch(`${url}/nope`);
  const metrics = await fetch(`${url}/metrics`);
  const metricsText = await metrics.text();
  return {
    visit: { status: visit.status, visit: visitBody['visit'], pod: visitBody['pod'], version: visitBody['version'], type: visit.headers.get('content-type') },
    html: { status: html.status, type: html.headers.get('content-type'), csp: html.headers.get('content-security-policy'), mentionsVisit2: /\b2\b/.test(htmlText) },
    visits: { status: visits.status, body: await visits.json() },
    readyz: { status: readyz.status, body: await readyz.text() },
    missing: { status: missing.status, body: await missing.json() },
    // Metric names and types, and the counters that must agree exactly.
    metrics: {
      status: metrics.status,
      types: metricsText.split('\n').filter((line) => line.startsWith('# TYPE ')).sort(),
      visitsTotal: /^visits_total (\S+)$/m.exec(metricsText)?.[1],
    },
  };
}

describe('built entry (scripts/build.ts)', () => {
  let files: string[] = [];
  before(async () => {
    ({ files } = await build(outDir));
  });

  test('bundles the service and one file per hook entry in src/hooks/', () => {
    for (const file of ['package.json', 'server.js', 'hooks/smoke.js', 'hooks/recreate-hook.js', 'hooks/load.js']) assert.ok(files.includes(file), `${file} in ${files.join(', ')}`);
    const sources = new Set(readdirSync(path.join(root, 'src', 'hooks')).map((name) => name.replace(/\.ts$/, '')));
    for (const file of files.filter((f) => f.startsWith('hooks/'))) assert.ok(sources.has(path.basename(file, '.js')), `${file} comes from src/hooks/`);
    assert.ok(!files.includes('hooks/k8s-client.js'), 'a library module of the hooks is not an entry');
    // The smoke hook compares every replica's version with the image's own, read from this file.
    const own = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
    const shipped = JSON.parse(readFileSync(path.join(outDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual({ name: shipped['name'], version: shipped['version'], type: shipped['type'] }, { name: own.name, version: own.version, type: 'module' });
  });

  test('answers exactly like the sources: visit, /visits, /readyz, 404, /metrics', async () => {
    const sources = await start(path.join(root, 'src', 'server.ts'));
    const built = await start(path.join(outDir, 'server.js'));
    const [fromSources, fromBuilt] = await Promise.all([observe(sources.url), observe(built.url)]);
    assert.deepEqual(fromBuilt, fromSources);
    assert.equal((fromBuilt as { visit: { visit: number } }).visit.visit, 1);
    assert.equal((fromBuilt as { readyz: { status: number } }).readyz.status, 200);
    for (const server of [sources, built]) server.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all([sources.exited, built.exited]), [0, 0]);
  });

  test('SIGTERM: drains, completes and exits 0', async () => {
    const built = await start(path.join(outDir, 'server.js'));
    built.child.kill('SIGTERM');
    assert.equal(await built.exited, 0);
    assert.ok(built.logs.some((line) => line.msg === 'shutdown: complete'), JSON.stringify(built.logs));
  });

  test('a bad environment variable stops startup with exit 2, naming it', async () => {
    const { logs, exited } = spawnEntry(path.join(outDir, 'server.js'), { PORT: 'not-a-port', DATA_DIR: path.join(work, 'unused') });
    assert.equal(await exited, 2);
    assert.match(JSON.stringify(logs), /PORT/);
  });

  test('the hook bundles behave like their sources (exit code and message without configuration)', () => {
    for (const hook of ['smoke', 'recreate-hook']) {
      const run = (file: string) => {
        const result = spawnSync(process.execPath, [file], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 20_000 });
        return { status: result.status, stderr: result.stderr.trim() };
      };
      const fromSource = run(path.join(root, 'src', 'hooks', `${hook}.ts`));
      const fromBundle = run(path.join(outDir, 'hooks', `${hook}.js`));
      assert.notEqual(fromSource.status, 0, `${hook} without configuration fails`);
      assert.deepEqual(fromBundle, fromSource, hook);
    }
  });
});
