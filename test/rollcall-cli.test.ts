// The `rollcall` command line as a user meets it, spawned as the bin runs it (scripts/rollcall.cjs): every wrong input
// is refused before any work starts, in one line naming what was wrong and what is accepted; --help lists what may be
// named; an interrupted comparison leaves no temp directory; an old Node gets the server's one-line message.
// "Before any work" is asserted by what did not happen (no progress line, no temp directory in the child's TMPDIR,
// nothing on stdout), not by timing.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { listOverlays } from '../bundle/files.ts';
import { SCENARIOS } from '../rehearsal/run/scenarios.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'scripts', 'rollcall.cjs');
const overlays = listOverlays(root);
const hasKubectl = () => spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** What the rehearsal left or made in the child's TMPDIR. */
  tmp: string[];
}

async function run(args: string[], options: { node?: string; wrap?: string[]; onStderr?: (text: string, child: ReturnType<typeof spawn>, tmp: string) => void } = {}): Promise<Ran> {
  const tmp = await tempDir('rollcall-cli-tmp-');
  await chmod(tmp, 0o777);
  const command = [...(options.wrap ?? []), options.node ?? process.execPath, bin, ...args];
  const child = spawn(command[0]!, command.slice(1), { cwd: root, env: { PATH: process.env.PATH ?? '', TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk;
    options.onStderr?.(stderr, child, tmp);
  });
  const [code, signal] = (await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])))) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr, tmp: readdirSync(tmp) };
}

/** Refused: exit 2, one line on stderr, nothing on stdout, nothing rehearsed. */
function assertRefused(ran: Ran, ...patterns: RegExp[]): void {
  assert.equal(ran.code, 2, ran.stderr);
  assert.equal(ran.stdout, '');
  const lines = ran.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line:\n${ran.stderr}`);
  assert.match(lines[0]!, /^rollcall: /);
  for (const pattern of patterns) assert.match(lines[0]!, pattern);
  assert.doesNotMatch(ran.stderr, /overlay \d+ of \d+|launch|ERR_PARSE_ARGS|at .*\.ts:\d+/);
  assert.deepEqual(ran.tmp, [], 'no rehearsal started (no temp directory)');
}

const overlayList = new RegExp(`accepted: ${overlays.join(', ')}`);

describe('rollcall refuses a wrong command line before any work, in one line', { concurrency: 4 }, () => {
  const cases: [string, string[], RegExp[]][] = [
    ['an unknown command, with the likely one', ['compar'], [/unknown command "compar" \(did you mean "compare"\?\); accepted: compare$/]],
    ['no command', [], [/no command given; accepted: compare/]],
    ['an overlay named as a positional argument', ['compare', 'recreate'], [/unexpected argument "recreate": to rehearse one overlay, write --overlay recreate/]],
    ['a scenario named as a positional argument', ['compare', 'crash'], [/unexpected argument "crash": .*--scenario crash/]],
    ['any other positional argument', ['compare', 'x', '--json'], [/unexpected argument "x"; compare takes options only: --overlay, /]],
    ['an unknown overlay, with the list of overlays', ['compare', '--overlay', 'nope'], [/--overlay: unknown overlay "nope"/, overlayList]],
    ['a misspelt overlay', ['compare', '--overlay', 'recreat'], [/"recreat" \(did you mean "recreate"\?\)/]],
    ['an unknown option, in our words rather than parseArgs\'', ['compare', '--bogus'], [/unknown option --bogus; accepted: --overlay, --scenario, --delivery/]],
    ['an unknown short option', ['compare', '-x'], [/unknown option -x; accepted: /]],
    ['an option without its value', ['compare', '--overlay'], [/--overlay needs a value/, overlayList]],
    ['an option followed by another option instead of a value', ['compare', '--html', '--json'], [/--html needs a value/]],
    ['a value given to a flag', ['compare', '--json=yes'], [/--json takes no value \(got "yes"\)/]],
    ['an unknown scenario', ['compare', '--scenario', 'crsh'], [/unknown scenario "crsh" \(did you mean "crash"\?\); accepted: good, crash, unready, errors, slow, all/]],
    ['an unknown delivery', ['compare', '--delivery', 'flux'], [/--delivery: unknown delivery "flux"; accepted: kubectl, argocd/]],
    ['a time scale of 0', ['compare', '--time-scale', '0'], [/--time-scale "0" is not accepted; accepted: a number greater than 0 and at most 10/]],
    ['a time scale that is not a number', ['compare', '--time-scale', '0x1'], [/--time-scale "0x1" is not accepted/]],
    ['a fractional connection count', ['compare', '--connections', '1.5'], [/--connections "1.5" is not accepted; accepted: a whole number 1 to 256/]],
    ['a negative rate', ['compare', '--rate', '-3'], [/--rate "-3" is not accepted; accepted: a number 1 to 10000/]],
    ['an empty Argo CD refresh', ['compare', '--argocd-refresh='], [/--argocd-refresh "" is not accepted; accepted: a number 0 to 3600/]],
    ['an --html path that is a directory', ['compare', '--html', '/tmp'], [/--html \/tmp is a directory; accepted: a file path, e\.g\. \/tmp\/report\.html/]],
    ['an --html path in a missing folder', ['compare', '--html', '/nonexistent/r.html'], [/the folder \/nonexistent does not exist/]],
    ['an --html path under a file', ['compare', '--html', '/etc/hostname/r.html'], [/\/etc\/hostname is not a folder/]],
    ['an unknown cluster', ['compare', '--cluster', 'kind'], [/--cluster "kind" is not accepted; accepted: model \(default\), local \(.*\), context=NAME/]],
    ['a cluster context without its name', ['compare', '--cluster', 'context='], [/--cluster "context=" is not accepted/]],
    ['a time scale on a real cluster', ['compare', '--cluster', 'context=kind-rollcall', '--time-scale', '0.1'], [/--time-scale 0\.1 with --cluster: a real cluster runs the manifests' own timings; accepted: --time-scale 1 or none$/]],
    ['a pod start latency on a real cluster', ['compare', '--cluster', 'local', '--pod-start', '2'], [/--pod-start with --cluster: a real cluster starts pods in its own time/]],
    ['a Kubernetes version that is none', ['compare', '--kubernetes', 'latest'], [/--kubernetes "latest" is not accepted; accepted: a Kubernetes version such as 1\.37\.2/]],
    ['a Kubernetes version on a real cluster', ['compare', '--cluster', 'local', '--kubernetes', '1.36'], [/--kubernetes with --cluster: a real cluster is its own version/]],
    ['an unknown client kind', ['compare', '--clients', 'keepalive'], [/--clients "keepalive" \(did you mean "keep-alive"\?\); accepted: keep-alive, per-request/]],
    ['a negative pod start latency', ['compare', '--pod-start', '-1'], [/--pod-start "-1" is not accepted; accepted: a number 0 to 600/]],
    ['Argo CD on a user\'s cluster', ['compare', '--cluster', 'context=kind-rollcall', '--delivery', 'argocd'], [/--delivery argocd with --cluster context=NAME: the real Argo CD runs beside --cluster local only .*accepted: --cluster local, or --delivery kubectl$/]],
  ];
  for (const [name, args, patterns] of cases) {
    test(`${name}: rollcall ${args.join(' ')}`, async () => assertRefused(await run(args), ...patterns));
  }

  test('an --html file that cannot be written (as an unprivileged user)', { skip: process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') ? false : 'needs root and setpriv to run the CLI as another user (root writes anywhere)' }, async () => {
    const dir = await tempDir();
    await chmod(dir, 0o755);
    const locked = path.join(dir, 'locked');
    await mkdir(locked, { mode: 0o555 });
    await writeFile(path.join(dir, 'report.html'), 'old', { mode: 0o444 });
    const user = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
    assertRefused(await run(['compare', '--html', path.join(locked, 'r.html')], { wrap: user }), /the folder .*locked is not writable \(EACCES\); accepted: a file in an existing, writable folder/);
    assertRefused(await run(['compare', '--html', path.join(dir, 'report.html')], { wrap: user }), /the file exists and cannot be written \(EACCES\)/);
    assert.equal(readFileSync(path.join(dir, 'report.html'), 'utf8'), 'old', 'the existing report is untouched');
  });
});

describe('rollcall compare --cluster refuses early', () => {
  test('local, as a user without root: says what it needs', { skip: process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') ? false : 'needs root and setpriv to run the CLI as another user' }, async () => {
    const user = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
    assertRefused(await run(['compare', '--cluster', 'local', '--overlay', 'rolling'], { wrap: user }), /--cluster local: the local control plane needs root/);
  });
  test('a context the kubeconfig does not have: kubectl\'s own words, nothing created', { skip: hasKubectl() ? false : 'kubectl is not installed' }, async () => {
    const r = await run(['compare', '--cluster', 'context=no-such-context', '--overlay', 'rolling']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /rollcall: kubectl proxy exited \(1\): .*context "no-such-context" does not exist/);
    assert.equal(r.stdout, '');
  });
});

describe('rollcall --help', () => {
  test('lists every overlay of kustomize/overlays and every scenario, on stdout, exit 0', async () => {
    const ran = await run(['--help']);
    assert.equal(ran.code, 0, ran.stderr);
    const overlayLine = ran.stdout.split('\n').find((line) => line.trimStart().startsWith('--overlay'));
    assert.ok(overlayLine, ran.stdout);
    assert.ok(overlays.length >= 6);
    for (const overlay of overlays) assert.ok(overlayLine.includes(overlay), `${overlay} in: ${overlayLine}`);
    for (const scenario of SCENARIOS) assert.match(ran.stdout, new RegExp(`\\b${scenario}: `), `scenario ${scenario} explained`);
    assert.deepEqual(ran.tmp, []);
  });

  test('wins over other words, even wrong ones', async () => {
    const ran = await run(['compare', '--bogus', '-h']);
    assert.equal(ran.code, 0);
    assert.match(ran.stdout, /^usage: rollcall compare/);
    const asCommand = await run(['help']);
    assert.equal(asCommand.code, 0);
    assert.equal(asCommand.stdout, ran.stdout);
  });
});

describe('an interrupted comparison', () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${signal} once the rehearsal has started: the temp directories are removed, exit ${code}`, { timeout: 120_000 }, async () => {
      let sent = false;
      let seen: string[] = [];
      const ran = await run(['compare', '--overlay', 'rolling'], {
        onStderr: (text, child, tmp) => {
          // The launch has begun once the progress says so; its directory exists by then.
          if (!sent && /launch v1/.test(text)) {
            seen = readdirSync(tmp);
            sent = true;
            child.kill(signal);
          }
        },
      });
      assert.ok(sent, `the rehearsal started:\n${ran.stderr}`);
      assert.ok(seen.some((name) => name.startsWith('rollcall-compare-rolling-')), `a temp directory existed: ${seen.join(', ')}`);
      assert.equal(ran.code, code, ran.stderr);
      assert.deepEqual(ran.tmp, [], 'nothing left in TMPDIR');
    });
  }
});

// The machine's own /usr/bin/node is 20 on this kind of machine (the project runs the Node 24 of the `node`
// devDependency); test/node-version-gate.test.ts checks the server with it, and this the bin.
const OLD_NODE = '/usr/bin/node';
const oldVersion = existsSync(OLD_NODE) ? spawnSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim() : '';
const needs = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const [needMajor = 0, needMinor = 0] = (/^>=(\d+)\.(\d+)/.exec(needs) ?? []).slice(1).map(Number);
const [oldMajor = 0, oldMinor = 0] = oldVersion.split('.').map(Number);
const oldEnough = oldVersion !== '' && (oldMajor < needMajor || (oldMajor === needMajor && oldMinor < needMinor));
const skipOld = oldEnough ? false : `needs a Node older than ${needs} at ${OLD_NODE} (found ${oldVersion || 'none'})`;
if (skipOld && process.env.CI === 'true') throw new Error(`CI=true: ${skipOld}`);

describe('the rollcall bin on an old Node', { skip: skipOld }, () => {
  test('prints the one line node src/server.ts prints (with its own command) and exits 1, no stack', async () => {
    const ran = await run(['compare', '--overlay', 'rolling'], { node: OLD_NODE });
    assert.equal(ran.code, 1);
    assert.equal(ran.stdout, '');
    assert.doesNotMatch(ran.stderr, /ERR_UNKNOWN_FILE_EXTENSION|\n\s+at /);
    const server = spawnSync(OLD_NODE, ['src/server.ts'], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', DATA_DIR: '/nonexistent/never-created' } });
    assert.equal(server.status, 1);
    assert.equal(ran.stderr.split('\n').length, 2, ran.stderr);
    assert.equal(ran.stderr.replace('`npx rollcall --help`', '`npm start`'), server.stderr, 'the same line but for the command to run');
    assert.match(ran.stderr, new RegExp(`this is Node\\.js ${oldVersion.replace(/\./g, '\\.')}`));
    assert.deepEqual(ran.tmp, []);
  });
});
