// The container image, end to end with a real Docker engine (`npm run test:container`; CI runs it through
// .ci/with-dockerd.sh). Builds the image from the repository's Dockerfile, runs it locked down the way the
// manifests do (read-only root filesystem, all capabilities dropped, no-new-privileges, non-root) with a named
// volume on /app/data, published on 127.0.0.1 only, and checks that the counter survives a SIGTERM stop and a
// second container on the same volume.
// Without a reachable Docker engine the suite is skipped, except under CI=true where that is a failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { imageCommand } from '../../scripts/lib/service-command.ts';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const runId = `${process.pid}-${Date.now().toString(36)}`;
const image = `rollcall:test-${runId}`;
const volume = `rollcall-test-${runId}`;
const containerPort = 5000;
const stopGraceSeconds = 20;
// The server drains for SHUTDOWN_DRAIN_MS after SIGTERM; keep it short here so a stop takes well under a second.
const drainMs = 200;
// "Well within the grace period": a clean SIGTERM exit must not get anywhere near the SIGKILL at 20 s.
const maxStopSeconds = 10;
// Flags every container of this suite runs with, as the Kubernetes securityContext does.
const lockedDown = ['--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];

async function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync('docker', args, {
      cwd: repoRoot,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Why Docker cannot be used here, or undefined when the CLI and the engine answer. */
async function dockerUnavailable(): Promise<string | undefined> {
  try {
    await execFileAsync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 15_000 });
    return undefined;
  } catch (error) {
    const e = error as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') return 'the docker CLI is not installed';
    return `the Docker engine is unreachable (${(e.stderr || e.message).trim().split('\n')[0]})`;
  }
}

interface Reply {
  status: number;
  body: unknown;
}

/** One GET on a fresh connection (no keep-alive, so nothing holds the server open during a stop). */
function get(port: number, urlPath: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: urlPath, agent: false, headers: { accept: 'application/json' }, timeout: 5_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON (for example /metrics); keep the text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

interface Started {
  id: string;
  port: number;
}

const containers: string[] = [];

/** Starts a locked-down container on the suite's volume and waits until /readyz answers 200. */
async function startContainer(name: string): Promise<Started> {
  const id = await docker([
    'run', '--detach', '--name', `${volume}-${name}`,
    ...lockedDown,
    '--volume', `${volume}:/app/data`,
    '--publish', `127.0.0.1::${containerPort}`,
    '--env', `SHUTDOWN_DRAIN_MS=${drainMs}`,
    '--env', `POD_NAME=${name}`,
    '--env', 'APP_VERSION=container-test',
    image,
  ]);
  containers.push(id);
  // "127.0.0.1:49153" (one line per address family; only 127.0.0.1 is published)
  const mapping = await docker(['port', id, `${containerPort}/tcp`]);
  const match = /^127\.0\.0\.1:(\d+)$/m.exec(mapping);
  assert.ok(match?.[1], `expected a port published on 127.0.0.1 only, docker port says: ${mapping}`);
  const port = Number(match[1]);

  const deadline = Date.now() + 30_000;
  for (;;) {
    const reply = await get(port, '/readyz').catch(() => undefined);
    if (reply?.status === 200) return { id, port };
    const running = await docker(['inspect', '--format', '{{.State.Running}}', id]);
    if (running !== 'true' || Date.now() > deadline) {
      const logs = await docker(['logs', id]).catch(() => '');
      assert.fail(`container ${name} never became ready (running: ${running}, last /readyz: ${reply?.status})\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `docker stop` (SIGTERM, SIGKILL after the grace period); returns the seconds it took and the exit code. */
async function stopContainer(id: string): Promise<{ seconds: number; exitCode: number; oomKilled: boolean }> {
  const started = performance.now();
  await docker(['stop', '--time', String(stopGraceSeconds), id], (stopGraceSeconds + 30) * 1000);
  const seconds = (performance.now() - started) / 1000;
  const state = JSON.parse(await docker(['inspect', '--format', '{{json .State}}', id])) as {
    ExitCode: number;
    OOMKilled: boolean;
  };
  return { seconds, exitCode: state.ExitCode, oomKilled: state.OOMKilled };
}

/** Runs node in a throw-away locked-down container of the image, with the suite's volume mounted. */
async function nodeInImage(script: string): Promise<string> {
  return docker(['run', '--rm', ...lockedDown, '--volume', `${volume}:/app/data`, image, 'node', '-e', script]);
}

const unavailable = await dockerUnavailable();
const mustRun = process.env.CI === 'true';

describe('container image', { skip: unavailable && !mustRun ? `skipped: ${unavailable}` : false }, () => {
  let first: Started;

  before(async () => {
    if (unavailable) throw new Error(`CI=true needs a Docker engine, but ${unavailable}`);
    const build = ['build', '--pull=false', '--tag', image, '--build-arg', 'VERSION=container-test'];
    // .ci/with-dockerd.sh runs an engine whose containers have no route out; the npm ci stage then uses the host's.
    const network = process.env.ROLLCALL_BUILD_NETWORK;
    if (network) build.push('--network', network);
    const started = performance.now();
    await docker([...build, '.'], 600_000);
    console.log(`# image built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await docker(['volume', 'create', volume]);
  }, { timeout: 660_000 });

  after(async () => {
    for (const id of containers) await docker(['rm', '--force', '--volumes', id]).catch(() => undefined);
    await docker(['volume', 'rm', '--force', volume]).catch(() => undefined);
    await docker(['image', 'rm', '--force', image]).catch(() => undefined);
  });

  test('holds only the bundled entries (no node_modules, no sources), with labels and a non-root numeric user', async (t) => {
    const inspected = JSON.parse(await docker(['image', 'inspect', image])) as Array<{
      Size: number;
      Config: {
        User: string;
        Cmd: string[] | null;
        Entrypoint: string[] | null;
        WorkingDir: string;
        Env: string[];
        ExposedPorts: Record<string, unknown>;
        Labels: Record<string, string>;
      };
    }>;
    const info = inspected[0];
    assert.ok(info);
    const sizeMb = info.Size / 1_000_000;
    t.diagnostic(`image size: ${sizeMb.toFixed(1)} MB`);
    console.log(`# image size: ${sizeMb.toFixed(1)} MB (${image})`);

    assert.equal(info.Config.User, '10001:10001');
    assert.deepEqual(info.Config.Cmd, imageCommand(), 'the image runs the bundled entry with the flags of `npm start`');
    assert.ok(!info.Config.Entrypoint?.length, `no entrypoint script expected, got ${String(info.Config.Entrypoint)}`);
    assert.equal(info.Config.WorkingDir, '/app');
    assert.ok(info.Config.Env.includes('NODE_ENV=production'));
    assert.ok(info.Config.Env.includes('DATA_DIR=/app/data'));
    assert.ok(`${containerPort}/tcp` in info.Config.ExposedPorts);
    assert.equal(info.Config.Labels['org.opencontainers.image.title'], 'rollcall');
    assert.equal(info.Config.Labels['org.opencontainers.image.version'], 'container-test');

    // The bundled entries are there; no node_modules, no TypeScript sources, no dev tooling, tests or docs.
    const present = JSON.parse(
      await nodeInImage(
        `const fs = require('node:fs');
         const paths = ['/app/server.js', '/app/hooks/smoke.js', '/app/hooks/recreate-hook.js', '/app/node_modules',
           '/app/src', '/usr/local/lib/node_modules/npm', '/app/test', '/app/.git', '/app/docs'];
         console.log(JSON.stringify(Object.fromEntries(paths.map((p) => [p, fs.existsSync(p)]))));`,
      ),
    ) as Record<string, boolean>;
    assert.deepEqual(present, {
      '/app/server.js': true,
      '/app/hooks/smoke.js': true,
      '/app/hooks/recreate-hook.js': true,
      '/app/node_modules': false,
      '/app/src': false,
      '/usr/local/lib/node_modules/npm': false,
      '/app/test': false,
      '/app/.git': false,
      '/app/docs': false,
    });
  });

  test('counts two visits into visits.json on the volume, served on 127.0.0.1', async () => {
    first = await startContainer('first');
    const one = await get(first.port, '/');
    const two = await get(first.port, '/');
    assert.equal(one.status, 200);
    assert.equal(two.status, 200);
    assert.equal((one.body as { visit: number }).visit, 1);
    assert.equal((two.body as { visit: number }).visit, 2);

    const stored = await nodeInImage(`process.stdout.write(require('node:fs').readFileSync('/app/data/visits.json', 'utf8'))`);
    assert.deepEqual(JSON.parse(stored), { counter: 2 });
  });

  test('passes its own HEALTHCHECK command, run inside the container', async () => {
    const healthcheck = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config.Healthcheck.Test}}', image])) as string[];
    assert.equal(healthcheck[0], 'CMD', 'exec-form HEALTHCHECK (no shell at run time)');
    // Fails (docker exec exits non-zero) unless /healthz answers 2xx.
    await docker(['exec', first.id, ...healthcheck.slice(1)]);
  });

  test('runs as uid/gid 10001 with no capabilities and no-new-privileges', async () => {
    const report = JSON.parse(
      await docker([
        'exec', first.id, 'node', '-e',
        `const status = require('node:fs').readFileSync('/proc/self/status', 'utf8');
         const field = (name) => new RegExp(name + ':\\\\s*(\\\\S+)').exec(status)[1];
         console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(),
           capEff: field('CapEff'), capBnd: field('CapBnd'), noNewPrivs: field('NoNewPrivs') }));`,
      ]),
    ) as { uid: number; gid: number; capEff: string; capBnd: string; noNewPrivs: string };
    assert.deepEqual(report, {
      uid: 10001,
      gid: 10001,
      capEff: '0000000000000000',
      capBnd: '0000000000000000',
      noNewPrivs: '1',
    });
  });

  test('has a read-only root filesystem: only /app/data is writable', async () => {
    const readonlyRootfs = await docker(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', first.id]);
    assert.equal(readonlyRootfs, 'true');
    const outcomes = JSON.parse(
      await docker([
        'exec', first.id, 'node', '-e',
        `const fs = require('node:fs');
         const attempt = (file) => { try { fs.writeFileSync(file, 'x'); fs.rmSync(file); return 'written'; }
                                     catch (e) { return e.code; } };
         console.log(JSON.stringify(Object.fromEntries(
           ['/probe', '/tmp/probe', '/app/probe', '/app/hooks/probe', '/app/data/probe'].map((f) => [f, attempt(f)]))));`,
      ]),
    ) as Record<string, string>;
    assert.deepEqual(outcomes, {
      '/probe': 'EROFS',
      '/tmp/probe': 'EROFS',
      '/app/probe': 'EROFS',
      '/app/hooks/probe': 'EROFS',
      '/app/data/probe': 'written',
    });
  });

  test('exits 0 on docker stop (SIGTERM) well within the grace period', async (t) => {
    const stopped = await stopContainer(first.id);
    t.diagnostic(`first container stopped in ${stopped.seconds.toFixed(2)} s (grace period ${stopGraceSeconds} s)`);
    console.log(`# docker stop took ${stopped.seconds.toFixed(2)} s, exit code ${stopped.exitCode}`);
    assert.equal(stopped.exitCode, 0, await docker(['logs', first.id]).catch(() => ''));
    assert.equal(stopped.oomKilled, false);
    assert.ok(stopped.seconds < maxStopSeconds, `stop took ${stopped.seconds.toFixed(2)} s`);
  });

  test('a second container on the same volume continues from 2', async () => {
    const second = await startContainer('second');
    const visits = await get(second.port, '/visits');
    assert.equal(visits.status, 200);
    assert.equal((visits.body as { counter: number }).counter, 2);
    const third = await get(second.port, '/');
    assert.equal((third.body as { visit: number }).visit, 3);

    const stopped = await stopContainer(second.id);
    assert.equal(stopped.exitCode, 0);
    const stored = await nodeInImage(`process.stdout.write(require('node:fs').readFileSync('/app/data/visits.json', 'utf8'))`);
    assert.deepEqual(JSON.parse(stored), { counter: 3 });
  });
});
