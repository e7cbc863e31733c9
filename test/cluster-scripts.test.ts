// scripts/cluster/*.sh: no Docker daemon, cluster or registry here, so two ways in. Their --dry-run prints every
// command without running any (order and refusals checked here); and their real code path runs with stand-ins for
// kind, kubectl, docker and git first on PATH (testing/support/command-stubs.ts), which record every call and answer
// as a cluster would (an Application that appears late, hook Jobs that run, finish or fail): the recorded calls are
// checked. Plus shellcheck, and the constructs that break on bash 3.2 (macOS's /bin/bash) or BSD userland.
// A missing shellcheck is a skip with the reason, a failure under CI=true.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readPackageVersion } from '../bundle/policy-basics.ts';
import { repoRoot } from '../bundle/schema.ts';
import { makeStubs, type StubRule } from '../testing/support/command-stubs.ts';

const dir = join(repoRoot, 'scripts/cluster');
const run = promisify(execFile);
// An empty PATH apart from bash's own tools: proof that a dry run executes none of kind, docker, kubectl.
const env = { ...process.env, PATH: '/usr/bin:/bin', KUBECONFIG: '/nonexistent' };

const commands = (out: string) => out.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2));

test('up.sh --dry-run prints the whole local path in order and runs nothing', async () => {
  const { stdout } = await run('bash', [join(dir, 'up.sh'), '--dry-run'], { env: { ...env, PATH: `${join(repoRoot, '.nothing')}:/usr/bin:/bin` } });
  const cmds = commands(stdout);
  const v = readPackageVersion();
  const order = [
    /^kind create cluster --name rollcall/,
    new RegExp(`^docker build --build-arg VERSION=${v.replace(/\./g, '\\.')} .* -t ghcr\\.io/rollcall/rollcall:${v.replace(/\./g, '\\.')} `),
    new RegExp(`^kind load docker-image ghcr\\.io/rollcall/rollcall:${v.replace(/\./g, '\\.')} --name rollcall$`),
    /^kubectl apply -n argocd --server-side --force-conflicts -f https:\/\/raw\.githubusercontent\.com\/argoproj\/argo-cd\/v\d+\.\d+\.\d+\/manifests\/install\.yaml$/,
    /controller\.sync\.timeout\.seconds.*900/,
    /^kubectl -n argocd rollout restart statefulset\/argocd-application-controller$/,
    // canary-analysis needs the Argo Rollouts controller (its CRDs and analysis controller), pinned to a release.
    /^kubectl apply -n argo-rollouts -f https:\/\/github\.com\/argoproj\/argo-rollouts\/releases\/download\/v1\.9\.1\/install\.yaml$/,
    /^kubectl -n argo-rollouts rollout status deployment\/argo-rollouts --timeout=300s$/,
    /^kubectl apply -f .*scripts\/cluster\/git-server\.yaml$/,
    /^edit_file .*repoURL:.*git:\/\/git-server\.rollcall-git\.svc\.cluster\.local\/rollcall\.git.* .*\/\.tmp\/cluster-repo\/argocd\/settings\/source\.yaml$/,
    /^git -C .* push --force git:\/\/127\.0\.0\.1:\d+\/rollcall\.git HEAD:main$/,
    /^kubectl apply -k .*\/\.tmp\/cluster-repo\/argocd\/root$/,
    /^until kubectl -n argocd get application\/rollcall-blue-green -o name; /,
    /^kubectl -n argocd wait application\/rollcall-blue-green --for=jsonpath=.*Healthy/,
  ];
  let at = 0;
  for (const re of order) {
    const i = cmds.findIndex((c, n) => n >= at && re.test(c));
    assert.ok(i >= 0, `${re} not found after command ${at}:\n${cmds.join('\n')}`);
    at = i + 1;
  }
  // One Application waited for per overlay, whatever overlays exist.
  const overlays = readdirSync(join(repoRoot, 'kustomize/overlays'));
  for (const o of overlays) assert.ok(cmds.some((c) => c.includes(`application/rollcall-${o} `)), o);
});

test('apply-plain.sh --dry-run: the hook Jobs listed (finished ones deleted), the overlay applied, the hooks awaited', async () => {
  const { stdout } = await run('bash', [join(dir, 'apply-plain.sh'), 'rolling', '--dry-run'], { env });
  assert.deepEqual(commands(stdout).map((c) => c.split(' ').slice(0, 5).join(' ')), [
    'kubectl -n rollcall-rolling get jobs',
    `kubectl apply -k ${repoRoot}/kustomize/overlays/rolling`,
    'kubectl -n rollcall-rolling get jobs',
  ]);
  assert.match(stdout, /get jobs -l app\.kubernetes\.io\/part-of=rollcall {3}# finished ones are deleted, a running one stops this/);
  assert.match(stdout, /until every hook Job is Complete or Failed, at most 780 s/);
  await assert.rejects(run('bash', [join(dir, 'apply-plain.sh'), 'nope', '--dry-run'], { env }), (e: { code?: number; stderr?: string }) => e.code === 2 && /no overlay nope/.test(e.stderr ?? ''));
  await assert.rejects(run('bash', [join(dir, 'apply-plain.sh'), 'rolling', '--bogus'], { env }), (e: { code?: number }) => e.code === 2);
});

test('build-image.sh refuses when the image tag and package.json\'s version differ', async () => {
  const copy = mkdtempSync(join(tmpdir(), 'rollcall-cluster-'));
  try {
    mkdirSync(join(copy, 'kustomize/base'), { recursive: true });
    writeFileSync(join(copy, 'package.json'), readFileSync(join(repoRoot, 'package.json'), 'utf8').replace(/^ {2}"version": "[^"]*",$/m, '  "version": "9.9.9",'));
    cpSync(join(repoRoot, 'kustomize/base/kustomization.yaml'), join(copy, 'kustomize/base/kustomization.yaml'));
    await assert.rejects(run('bash', [join(dir, 'build-image.sh'), '--dry-run'], { env: { ...env, ROLLCALL_ROOT: copy } }), (e: { code?: number; stderr?: string }) =>
      e.code === 1 && /package\.json version "9\.9\.9" differs from the image tag/.test(e.stderr ?? ''));
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('every script has --dry-run and --help, and shellcheck finds nothing', (t) => {
  const scripts = readdirSync(dir).filter((f) => f.endsWith('.sh') && f !== 'lib.sh');
  for (const s of scripts) {
    const help = execFileSync('bash', [join(dir, s), ...(s === 'apply-plain.sh' ? ['rolling'] : []), '--help'], { env, encoding: 'utf8' });
    assert.match(help, /--dry-run/, s);
  }
  let found = true;
  try {
    execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
  } catch {
    found = false;
  }
  if (!found) {
    if (process.env['CI'] === 'true') assert.fail('CI=true: shellcheck is not installed (apt-get install shellcheck)');
    t.skip('shellcheck is not installed (apt-get install shellcheck)');
    return;
  }
  execFileSync('shellcheck', ['-x', ...readdirSync(dir).filter((f) => f.endsWith('.sh'))], { cwd: dir, stdio: 'pipe' });
});

// --- the real code path, with stand-ins for kind, kubectl, docker and git ---

/** A throw-away ROLLCALL_ROOT with what the scripts read (package.json, kustomize/, argocd/, git-server.yaml). */
function scratchRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'rollcall-root-'));
  cpSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  for (const d of ['kustomize', 'argocd', 'scripts/cluster']) cpSync(join(repoRoot, d), join(root, d), { recursive: true });
  return root;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  calls: string[];
}

async function runWithStubs(script: string, args: string[], rules: StubRule[], extraEnv: Record<string, string> = {}): Promise<Ran & { root: string }> {
  const stubs = makeStubs(rules);
  const root = scratchRoot();
  try {
    const res = await run('bash', [join(dir, script), ...args], {
      env: { ...process.env, PATH: `${stubs.bin}:/usr/bin:/bin`, ROLLCALL_ROOT: root, POLL_SECONDS: '0', KUBECONFIG: '/nonexistent', ...extraEnv },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
    return { ...res, calls: stubs.lines(), root };
  } finally {
    stubs.cleanup();
  }
}

/** Asserts each pattern matches a call, in this order (other calls may come between). */
function assertInOrder(calls: string[], patterns: RegExp[]): void {
  let at = 0;
  for (const re of patterns) {
    const i = calls.findIndex((c, n) => n >= at && re.test(c));
    assert.ok(i >= 0, `${re} not found after call ${at}:\n${calls.join('\n')}`);
    at = i + 1;
  }
}

const overlays = readdirSync(join(repoRoot, 'kustomize/overlays')).sort();
// `git clone` makes the copy git-server.sh edits next: the last argument, with the settings file in it.
const cloneRule: StubRule = { tool: 'git', match: '^git clone ', exec: 'for d in "$@"; do :; done; mkdir -p "$d/argocd/settings" && cp "$ROLLCALL_ROOT/argocd/settings/source.yaml" "$d/argocd/settings/"' };

describe('the scripts for real, against stand-in tools', () => {
  test('up.sh without --dry-run (the branch bash < 4.4 broke on) runs every step, waiting for each Application to exist', async () => {
    const r = await runWithStubs('up.sh', [], [
      { tool: 'git', match: '^git -C .* rev-parse HEAD$', stdout: 'abc1234\n' },
      cloneRule,
      // The ApplicationSet makes its Applications a while after the root synced: not there for the first two looks.
      { tool: 'kubectl', match: 'get application/rollcall-rolling -o name$', times: 2, exit: 1, stdout: 'Error from server (NotFound): applications.argoproj.io "rollcall-rolling" not found\n' },
    ]);
    try {
      assert.equal(r.code, 0, r.stderr);
      const v = readPackageVersion().replace(/\./g, '\\.');
      assertInOrder(r.calls, [
        /^kind create cluster --name rollcall --wait 180s$/,
        /^kubectl cluster-info --context kind-rollcall$/,
        new RegExp(`^docker build --build-arg VERSION=${v} --build-arg REVISION=abc1234 -t ghcr\\.io/rollcall/rollcall:${v} `),
        new RegExp(`^kind load docker-image ghcr\\.io/rollcall/rollcall:${v} --name rollcall$`),
        /^kubectl create namespace argocd --dry-run=client -o yaml$/,
        /^kubectl apply -n argocd --server-side --force-conflicts -f https:\/\/raw\.githubusercontent\.com\/argoproj\/argo-cd\/v\d+\.\d+\.\d+\/manifests\/install\.yaml$/,
        /^kubectl -n argocd patch configmap argocd-cmd-params-cm --type merge -p \{"data":\{"controller\.sync\.timeout\.seconds":"900"\}\}$/,
        /^kubectl -n argocd rollout restart statefulset\/argocd-application-controller$/,
        /^kubectl apply -n argo-rollouts -f https:\/\/github\.com\/argoproj\/argo-rollouts\/releases\/download\/v1\.9\.1\/install\.yaml$/,
        /^kubectl apply -f .*\/scripts\/cluster\/git-server\.yaml$/,
        /^kubectl -n rollcall-git rollout status deployment\/git-server --timeout=180s$/,
        /^git clone --quiet --no-hardlinks .* .*\/\.tmp\/cluster-repo$/,
        /^git -C .*\/\.tmp\/cluster-repo -c user\.name=rollcall -c user\.email=rollcall@localhost commit --quiet -am /,
        /^git ls-remote git:\/\/127\.0\.0\.1:19418\/rollcall\.git$/,
        /^git -C .*\/\.tmp\/cluster-repo push --force git:\/\/127\.0\.0\.1:19418\/rollcall\.git HEAD:main$/,
        /^kubectl apply -k .*\/\.tmp\/cluster-repo\/argocd\/root$/,
        /^kubectl -n argocd wait application\/rollcall-root --for=jsonpath=\{\.status\.sync\.status\}=Synced --timeout=300s$/,
        /^kubectl -n argocd get applications -l app\.kubernetes\.io\/part-of=rollcall$/,
      ]);
      // Each Application: looked up until it exists, then waited on (after the root synced, before the summary).
      const rootAt = r.calls.findIndex((c) => c.startsWith('kubectl -n argocd wait application/rollcall-root'));
      const lastAt = r.calls.lastIndexOf('kubectl -n argocd get applications -l app.kubernetes.io/part-of=rollcall');
      for (const o of overlays) {
        const got = r.calls.lastIndexOf(`kubectl -n argocd get application/rollcall-${o} -o name`);
        const waited = r.calls.indexOf(`kubectl -n argocd wait application/rollcall-${o} --for=jsonpath={.status.health.status}=Healthy --timeout=600s`);
        assert.ok(rootAt < got && got < waited && waited < lastAt, `${o}: root ${rootAt}, exists ${got}, wait ${waited}, summary ${lastAt}`);
      }
      assert.equal(r.calls.filter((c) => c === 'kubectl -n argocd get application/rollcall-rolling -o name').length, 3, 'looked until it existed');
      // The two ends of each `create namespace | apply -f -` pipeline, and the background port-forward (its start
      // races the first ls-remote, so its position is not fixed).
      assert.equal(r.calls.filter((c) => c === 'kubectl apply -f -').length, 2);
      assert.ok(r.calls.includes('kubectl -n rollcall-git port-forward service/git-server 19418:9418'));
      // The copy's settings point at the in-cluster server, edited without sed -i, nothing else changed.
      const original = readFileSync(join(repoRoot, 'argocd/settings/source.yaml'), 'utf8');
      const edited = readFileSync(join(r.root, '.tmp/cluster-repo/argocd/settings/source.yaml'), 'utf8');
      assert.equal(
        edited,
        original.replace(/^ {2}repoURL: .*$/m, '  repoURL: git://git-server.rollcall-git.svc.cluster.local/rollcall.git').replace(/^ {2}targetRevision: .*$/m, '  targetRevision: main'),
      );
      assert.notEqual(edited, original);
      assert.deepEqual(readdirSync(join(r.root, '.tmp/cluster-repo/argocd/settings')), ['source.yaml'], 'no temp file left behind');
    } finally {
      rmSync(r.root, { recursive: true, force: true });
    }
  });

  test('sync.sh fails with a sentence when an Application never appears', async () => {
    const r = await runWithStubs('sync.sh', [], [{ tool: 'kubectl', match: 'get application/rollcall-blue-green -o name$', exit: 1 }], { APP_APPEAR_SECONDS: '4' });
    rmSync(r.root, { recursive: true, force: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /application\/rollcall-blue-green did not appear in namespace argocd within 4 s/);
    assert.equal(r.calls.filter((c) => c.endsWith('get application/rollcall-blue-green -o name')).length, 5);
    assert.ok(!r.calls.some((c) => c.includes('wait application/rollcall-blue-green')), 'never waited on an object that does not exist');
  });

  describe('apply-plain.sh', () => {
    const jobs = (lines: string) => ({ tool: 'kubectl' as const, match: 'get jobs -l app\\.kubernetes\\.io/part-of=rollcall -o jsonpath=', stdout: lines });
    const logs = (name: string, text: string): StubRule => ({ tool: 'kubectl', match: `logs job/${name} --tail=50$`, stdout: text });

    test('first install: no Job yet, the overlay applied (its Namespace with it), the smoke hook awaited and reported', async () => {
      const r = await runWithStubs('apply-plain.sh', ['rolling'], [
        { ...jobs(''), times: 1 },
        { ...jobs('rollcall-smoke=\n'), times: 2 },
        jobs('rollcall-smoke=SuccessCriteriaMet Complete\n'),
        logs('rollcall-smoke', 'ok   rollcall-0: ready\nsmoke test passed: 3 replica(s) ready\n'),
      ]);
      rmSync(r.root, { recursive: true, force: true });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.calls.map((c) => c.replace(/ -o jsonpath=.*/, ' -o jsonpath=…').replace(/-k \/.*\/kustomize/, '-k ROOT/kustomize')), [
        'kubectl -n rollcall-rolling get jobs -l app.kubernetes.io/part-of=rollcall -o jsonpath=…',
        'kubectl apply -k ROOT/kustomize/overlays/rolling',
        'kubectl -n rollcall-rolling get jobs -l app.kubernetes.io/part-of=rollcall -o jsonpath=…',
        'kubectl -n rollcall-rolling get jobs -l app.kubernetes.io/part-of=rollcall -o jsonpath=…',
        'kubectl -n rollcall-rolling get jobs -l app.kubernetes.io/part-of=rollcall -o jsonpath=…',
        'kubectl -n rollcall-rolling logs job/rollcall-smoke --tail=50',
      ]);
      assert.match(r.stdout, /^hook rollcall-smoke: Complete\n {4}ok {3}rollcall-0: ready\n {4}smoke test passed: 3 replica\(s\) ready$/m);
      assert.match(r.stdout, /every hook Job completed in rollcall-rolling/);
      assert.ok(!r.calls.some((c) => /create namespace|delete/.test(c)));
    });

    test('next release: only the finished Jobs deleted; a failed hook is reported with its log and exit 1', async () => {
      const r = await runWithStubs('apply-plain.sh', ['recreate'], [
        { ...jobs('rollcall-recreate=SuccessCriteriaMet Complete\nrollcall-smoke=FailureTarget Failed\n'), times: 1 },
        jobs('rollcall-recreate=Complete\nrollcall-smoke=FailureTarget Failed\n'),
        logs('rollcall-recreate', 'recreate: done, recreated rollcall-0, rollcall-1, rollcall-2\n'),
        logs('rollcall-smoke', 'FAIL rollcall-2: GET /readyz answered 503, want 200 (after 150 attempts)\n'),
      ]);
      rmSync(r.root, { recursive: true, force: true });
      assert.equal(r.code, 1);
      assertInOrder(r.calls, [/get jobs/, /^kubectl -n rollcall-recreate delete job rollcall-recreate rollcall-smoke --ignore-not-found --wait=true$/, /^kubectl apply -k .*\/overlays\/recreate$/, /get jobs/, /logs job\/rollcall-recreate/, /logs job\/rollcall-smoke/]);
      assert.match(r.stdout, /hook rollcall-recreate: Complete\n {4}recreate: done, recreated rollcall-0, rollcall-1, rollcall-2\nhook rollcall-smoke: Failed\n {4}FAIL rollcall-2: GET \/readyz answered 503/);
      assert.match(r.stderr, /hook Job\(s\) rollcall-smoke failed: this release is not good/);
    });

    test('a hook Job still running: nothing deleted, nothing applied, a sentence saying what to do', async () => {
      const r = await runWithStubs('apply-plain.sh', ['rolling'], [jobs('rollcall-smoke=\n')]);
      rmSync(r.root, { recursive: true, force: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /hook Job\(s\) rollcall-smoke in rollcall-rolling still running \(a previous release's hooks\); nothing changed\./);
      assert.deepEqual(r.calls.length, 1, r.calls.join('\n'));
    });

    test('hooks that never finish: exit 1 after HOOK_TIMEOUT_SECONDS', async () => {
      const r = await runWithStubs('apply-plain.sh', ['rolling'], [{ ...jobs(''), times: 1 }, jobs('rollcall-smoke=\n')], { HOOK_TIMEOUT_SECONDS: '3' });
      rmSync(r.root, { recursive: true, force: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /hook Job\(s\) rollcall-smoke in rollcall-rolling not finished within 3 s/);
    });
  });

  test('the stand-in tools really stand in: nothing but the stubs was called for kind, kubectl, docker, git', () => {
    const stubs = makeStubs([{ tool: 'kubectl', match: '^kubectl version', stdout: 'stub\n' }]);
    try {
      const out = execFileSync('bash', ['-c', 'kubectl version; kind get clusters; git status'], { env: { ...process.env, PATH: `${stubs.bin}:/usr/bin:/bin` }, encoding: 'utf8' });
      assert.equal(out, 'stub\n');
      assert.deepEqual(stubs.lines(), ['kubectl version', 'kind get clusters', 'git status']);
    } finally {
      stubs.cleanup();
    }
  });
});

// --- portability: bash 3.2 (macOS's /bin/bash) and BSD userland ---

/**
 * Constructs that fail on macOS as shipped, each with its source: GNU bash's NEWS/CHANGES per release (what 4.x added)
 * and the BSD manual pages of sed, readlink, grep, date, stat, xargs (macOS man pages); `timeout` is GNU coreutils only.
 */
const notPortable: [RegExp, string][] = [
  [/\$\{[A-Za-z_][A-Za-z0-9_]*\[@\]\}/, 'an array expansion "${a[@]}": with an empty array, bash < 4.4 under set -u stops with "unbound variable" (bash-4.4 NEWS, nounset and empty arrays); use two calls or ${a[@]+"${a[@]}"}'],
  [/\bsed\s+(-[a-zA-Z]*\s+)*-i\b/, 'sed -i: BSD sed takes the next argument as the backup suffix (sed(1) on macOS); use edit_file from lib.sh'],
  [/\breadlink\s+-f\b/, 'readlink -f: not in BSD readlink before macOS 12.3'],
  [/\bgrep\s+(-[a-zA-Z]*\s+)*-[a-zA-Z]*P/, 'grep -P: not in BSD grep'],
  [/\bdate\s+(-[a-zA-Z]*\s+)*-d\b/, 'date -d: BSD date has -j -f instead'],
  [/\bstat\s+-c\b/, 'stat -c: BSD stat has -f instead'],
  [/\bxargs\s+(-[a-zA-Z]*\s+)*-r\b/, 'xargs -r: not in BSD xargs'],
  [/(^|[;&|]\s*|\s)timeout\s+\d/, 'timeout: GNU coreutils only, not on macOS'],
  [/\b(declare|local|typeset)\s+-[a-zA-Z]*[An]/, 'declare -A / -n: associative arrays are bash 4.0, namerefs 4.3'],
  [/\b(mapfile|readarray)\b/, 'mapfile/readarray: bash 4.0'],
  [/\$\{[A-Za-z_][A-Za-z0-9_]*(,,?|\^\^?)\}/, 'case-modifying expansion ${x,,} / ${x^^}: bash 4.0'],
  [/&>>|\|&/, '&>> and |&: bash 4.0'],
  [/\bwait\s+-n\b/, 'wait -n: bash 4.3'],
  [/\$EPOCHSECONDS|\$EPOCHREALTIME/, '$EPOCHSECONDS: bash 5.0'],
];

test('the scripts avoid what bash 3.2 or BSD userland lacks', () => {
  const problems: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.sh'))) {
    readFileSync(join(dir, f), 'utf8').split('\n').forEach((line, i) => {
      if (/^\s*#/.test(line)) return;
      for (const [re, why] of notPortable) if (re.test(line)) problems.push(`${f}:${i + 1}: ${why}\n    ${line.trim()}`);
    });
  }
  assert.deepEqual(problems, []);
  // The rules catch what they are for (a rule that matches nothing proves nothing).
  const samples = ['bash x "${flag[@]}"', 'sed -i "s/a/b/" f', 'sed -E -i "" f', 'readlink -f x', 'grep -oP x', 'date -d now', 'stat -c %s f', 'xargs -r rm', 'timeout 5 cmd', 'declare -A m', 'local -n r=x', 'mapfile -t a', 'echo ${x,,}', 'cmd &>> log', 'wait -n', 'echo $EPOCHSECONDS'];
  for (const [re, why] of notPortable) assert.ok(samples.some((s) => re.test(s)), `no sample for: ${why}`);
  assert.ok(!notPortable.some(([re]) => re.test('${flag[@]+"${flag[@]}"}'.replace('${flag[@]}', ''))), 'the guarded idiom is allowed');
});
