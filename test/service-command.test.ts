// The service is started one way everywhere: `npm start`, the image's CMD (on the bundled entry), the benchmark and
// `rollcall compare` all take the Node flags from package.json (scripts/lib/service-command.ts). A flag changed in
// one place only would make the benchmark measure something else than what runs in the pod.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { build } from '../scripts/build.ts';
import { followServerLog, type LogLine } from '../scripts/lib/server-log.ts';
import { IMAGE_ENTRY, imageCommand, serviceNodeFlags, startCommand } from '../scripts/lib/service-command.ts';

const root = path.resolve(import.meta.dirname, '..');

/** The exec-form CMD of the Dockerfile's last stage, as argv. */
function dockerfileCmd(): string[] {
  const lines = readFileSync(path.join(root, 'Dockerfile'), 'utf8').split('\n');
  const cmd = lines.filter((line) => line.startsWith('CMD ')).at(-1);
  assert.ok(cmd, 'the Dockerfile has a CMD');
  return JSON.parse(cmd.slice('CMD '.length)) as string[];
}

describe('service command', () => {
  test('npm start execs node with flags and src/server.ts (so signals reach the server)', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts['start'] ?? '', /^exec node /);
    const argv = startCommand();
    assert.equal(argv[0], 'node');
    assert.equal(argv.at(-1), 'src/server.ts');
    assert.ok(serviceNodeFlags().includes('--max-semi-space-size=8'), 'the young generation is capped (docs/benchmarks.md, "Memory")');
  });

  test("the image's CMD is the bundled entry with the flags of npm start", () => {
    assert.deepEqual(dockerfileCmd(), ['node', ...serviceNodeFlags(), 'server.js']);
    assert.deepEqual(dockerfileCmd(), imageCommand());
  });

  test('every npm script that runs one long-lived program execs it', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const name of ['start', 'dev', 'bench', 'compare', 'test:faults', 'test:container']) {
      assert.match(pkg.scripts[name] ?? '', /(^|\s)exec node /, `scripts.${name} execs node`);
    }
  });
});

// SIGUSR1 makes Node open the V8 inspector (127.0.0.1:9229), which would let anything in the pod's network namespace
// run code in the service. Two safeguards: --disable-sigusr1 in the service's flags, and the server's own handler
// (src/service/lifecycle.ts; test/server-startup.test.ts checks it alone, without the flag). Here: the service as `npm start`
// runs it and as the image runs it. The check is the process's own listening sockets (from /proc), so another
// program on 9229 on a shared machine neither fails the test nor hides an inspector, and `--inspect-port=0` is added
// (it changes only where an inspector would listen) so a taken 9229 cannot make the inspector fail to open unseen.

const work = mkdtempSync(path.join(os.tmpdir(), 'rollcall-service-command-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** TCP ports process `pid` listens on: its socket inodes matched against the LISTEN rows of /proc/<pid>/net/tcp{,6}. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed in between
    }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const row of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, st 0A is LISTEN, the 10th field is the inode.
      if (fields[3] === '0A' && inodes.has(fields[9] ?? '')) ports.push(Number.parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

/** Starts `argv` (node, flags, entry) in `cwd` on 127.0.0.1 and an OS-chosen port; resolves once it listens. */
async function startService(argv: string[], cwd: string): Promise<{ child: ChildProcess; port: number; logs: LogLine[]; stderr: () => string; exited: Promise<number | string> }> {
  const [, ...args] = argv;
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: '0', DATA_DIR: mkdtempSync(path.join(work, 'data-')) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  const { logs, listening } = followServerLog(child.stdout!);
  const port = await Promise.race([listening, exited.then((code) => Promise.reject(new Error(`${argv.join(' ')} exited (${code}) before listening: ${stderr}`)))]);
  return { child, port, logs, stderr: () => stderr, exited };
}

/** Sends SIGUSR1 and checks that nothing opened: still serving, the HTTP port its only listening socket. */
async function sigusr1OpensNothing(argv: string[], cwd: string): Promise<void> {
  assert.equal(argv[0], 'node');
  // --inspect-port=0 before the entry: see the comment above.
  const service = await startService([...argv.slice(0, -1), '--inspect-port=0', ...argv.slice(-1)], cwd);
  const pid = service.child.pid!;
  assert.deepEqual(listeningPorts(pid), [service.port], 'before SIGUSR1: only the HTTP port');
  service.child.kill('SIGUSR1');
  // The inspector opens on its own thread right after the signal; give it ample time on a loaded machine.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(service.child.exitCode, null, 'SIGUSR1 stopped the service');
  assert.deepEqual(listeningPorts(pid), [service.port], 'after SIGUSR1: a new listening socket (the inspector?)');
  assert.doesNotMatch(service.stderr(), /Debugger listening/);
  const visit = await fetch(`http://127.0.0.1:${service.port}/`, { headers: { accept: 'application/json' } });
  assert.equal(((await visit.json()) as { visit?: number }).visit, 1);
  service.child.kill('SIGTERM');
  assert.equal(await service.exited, 0);
}

describe('SIGUSR1 opens no inspector', { skip: process.platform === 'linux' ? false : 'reads /proc (Linux only)' }, () => {
  test('the detector sees an inspector: plain node without the flag opens one on SIGUSR1', async () => {
    const child = spawn(process.execPath, ['--inspect-port=0', '-e', 'setInterval(() => {}, 1000); console.log("up")'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    await once(child.stdout!, 'data');
    assert.deepEqual(listeningPorts(child.pid!), []);
    child.kill('SIGUSR1');
    let ports: number[] = [];
    for (let i = 0; i < 100 && ports.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ports = listeningPorts(child.pid!);
    }
    assert.equal(ports.length, 1, 'SIGUSR1 opened the inspector on one port');
    child.kill('SIGKILL');
  });

  test('the service as npm start runs it (its flags on src/server.ts)', async () => {
    assert.ok(serviceNodeFlags().includes('--disable-sigusr1'), 'npm start passes --disable-sigusr1');
    await sigusr1OpensNothing(startCommand(), root);
  });

  test("the service as the image runs it (the image's command on the bundled entry)", async () => {
    const app = path.join(work, 'app');
    await build(app);
    assert.equal(imageCommand().at(-1), IMAGE_ENTRY);
    await sigusr1OpensNothing(imageCommand(), app);
  });
});
