// scripts/cluster/*.sh cannot run here (no Docker daemon, no cluster, no registry). Their --dry-run prints every
// command without running any; these tests run the dry runs, check the commands and their order, the refusals, and
// shellcheck. A missing shellcheck is a skip with the reason, a failure under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readPackageVersion } from '../bundle/policy.ts';
import { repoRoot } from '../bundle/schema.ts';

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
    /^\S*scripts\/cluster\/point-source\.sh \S*\/\.tmp\/cluster-repo git:\/\/git-server\.rollcall-git\.svc\.cluster\.local\/rollcall\.git main$/,
    /^git -C .* push --force git:\/\/127\.0\.0\.1:\d+\/rollcall\.git HEAD:main$/,
    /^kubectl apply -k .*\/\.tmp\/cluster-repo\/argocd\/root$/,
    /^kubectl -n argocd wait application\/rollcall-rolling --for=jsonpath=.*Healthy/,
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

test('apply-plain.sh: namespace, then the finished hook Jobs deleted (Job templates are immutable), then apply', async () => {
  const { stdout } = await run('bash', [join(dir, 'apply-plain.sh'), 'rolling', '--dry-run'], { env });
  assert.deepEqual(commands(stdout).map((c) => c.split(' ').slice(0, 5).join(' ')), [
    'kubectl create namespace rollcall-rolling --dry-run=client',
    'kubectl -n rollcall-rolling delete job',
    `kubectl apply -k ${repoRoot}/kustomize/overlays/rolling`,
  ]);
  assert.match(stdout, /delete job -l app\.kubernetes\.io\/part-of=rollcall --ignore-not-found/);
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
