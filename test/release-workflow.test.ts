// .github/workflows/release.yml, the workflow a user runs in their own CI to publish the image: linted with actionlint
// (a Go module, run at the version `npm run lint:workflows` pins), and read for what it must do: build amd64 and arm64,
// push to the registry the manifests name (or the IMAGE variable), tag with the one version, never `latest`.
// Without Go the lint says why it skips; under CI=true a missing Go is a failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { tempDir } from '../testing/support/temp-dir.ts';

const root = path.resolve(import.meta.dirname, '..');
const workflowFile = path.join(root, '.github', 'workflows', 'release.yml');
const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const lint = scripts['lint:workflows'] ?? '';
/** `go run <module>@<version> <flags>` from the npm script, so the pin lives in one place. */
const goArgs = lint.replace(/^exec go /, '').split(' ');

const go = [process.env.GO, ...(process.env.PATH ?? '').split(':').map((dir) => path.join(dir, 'go')), '/usr/local/go/bin/go'].find((p) => p && existsSync(p));
const skip = go ? false : 'needs Go (go on PATH or /usr/local/go/bin/go) to run actionlint, a Go module';
if (skip && process.env.CI === 'true') throw new Error(`CI=true: ${skip}`);

function actionlint(cwd: string, file: string) {
  // Module mode wherever it runs; the Go caches are shared and locked by Go itself.
  return spawnSync(go!, [...goArgs, file], { cwd, encoding: 'utf8', timeout: 540_000, env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' } });
}

describe('the release workflow, linted', { skip }, () => {
  test('the lint is pinned: actionlint at an exact version', () => {
    assert.match(lint, /^exec go run github\.com\/rhysd\/actionlint\/cmd\/actionlint@v\d+\.\d+\.\d+ /);
  });

  test('actionlint finds nothing in .github/workflows/release.yml', { timeout: 600_000 }, () => {
    const result = actionlint(root, '.github/workflows/release.yml');
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.stdout + result.stderr.replace(/^go: downloading .*\n/gm, ''), '');
    assert.equal(result.status, 0);
  });

  test('and does find a mistake in a copy broken on purpose (the lint really runs)', { timeout: 600_000 }, async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, '.github', 'workflows'), { recursive: true });
    const broken = readFileSync(workflowFile, 'utf8').replace('${{ steps.ref.outputs.version }}', '${{ steps.nope.outputs.version }}');
    await writeFile(path.join(dir, '.github', 'workflows', 'release.yml'), broken);
    const result = actionlint(dir, '.github/workflows/release.yml');
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /property "nope" is not defined/);
  });
});

describe('the release workflow, read', () => {
  const workflow = parse(readFileSync(workflowFile, 'utf8')) as {
    on: { push: { tags: string[] }; workflow_dispatch: unknown };
    permissions: Record<string, string>;
    jobs: { image: { steps: { id?: string; uses?: string; run?: string; with?: Record<string, string | boolean> }[] } };
  };
  const steps = workflow.jobs.image.steps;
  const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'))!;

  test('runs on a version tag or by hand, may write packages and nothing else', () => {
    assert.deepEqual(workflow.on.push.tags, ['v*']);
    assert.ok('workflow_dispatch' in workflow.on);
    assert.deepEqual(workflow.permissions, { contents: 'read', packages: 'write' });
  });

  test('builds amd64 and arm64 with buildx and pushes one tag: the version, never latest', () => {
    assert.ok(steps.some((s) => s.uses?.startsWith('docker/setup-buildx-action@')));
    assert.ok(steps.some((s) => s.uses?.startsWith('docker/setup-qemu-action@')));
    assert.equal(build.with!['platforms'], 'linux/amd64,linux/arm64');
    assert.equal(build.with!['push'], true);
    assert.equal(build.with!['tags'], '${{ steps.ref.outputs.image }}:${{ steps.ref.outputs.version }}');
    assert.doesNotMatch(readFileSync(workflowFile, 'utf8'), /:latest\b/);
  });

  test('reads the version and the image the way scripts/cluster does, and refuses a tag that is not the version', () => {
    const run = steps.find((s) => s.id === 'ref')!.run!;
    const lib = readFileSync(path.join(root, 'scripts', 'cluster', 'lib.sh'), 'utf8');
    for (const sed of ["sed -n 's/^  \"version\": \"\\(.*\\)\",$/\\1/p' ", "sed -n 's/^    newTag: \\(.*\\)$/\\1/p' "]) {
      assert.ok(run.includes(sed) && lib.includes(sed), `the same extraction in both: ${sed}`);
    }
    assert.match(run, /newName/);
    assert.match(run, /\$REF_NAME" != "v\$version"/);
  });

  test('its version check passes on this tree and fails on a mismatched tag, run as written with bash', { skip: existsSync('/bin/bash') ? false : 'needs bash' }, async () => {
    const run = steps.find((s) => s.id === 'ref')!.run!;
    const output = path.join(await tempDir(), 'out');
    const env = (refType: string, refName: string) => ({ PATH: process.env.PATH ?? '', GITHUB_OUTPUT: output, IMAGE_OVERRIDE: '', REF_TYPE: refType, REF_NAME: refName });
    const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const ok = spawnSync('/bin/bash', ['-e', '-c', run], { cwd: root, encoding: 'utf8', env: env('tag', `v${version}`) });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.deepEqual(readFileSync(output, 'utf8').trim().split('\n'), [`version=${version}`, 'image=ghcr.io/rollcall/rollcall', 'registry=ghcr.io']);
    const bad = spawnSync('/bin/bash', ['-e', '-c', run], { cwd: root, encoding: 'utf8', env: env('tag', 'v0.0.0-not-it') });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, new RegExp(`::error::tag v0\\.0\\.0-not-it does not name package\\.json's version ${version.replace(/\./g, '\\.')}`));
  });
});
