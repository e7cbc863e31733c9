// scripts/release.ts: one command moves the package version and the image tag together, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applyRelease, ReleaseError, releaseFiles } from '../scripts/release.ts';
import { readPackageVersion } from '../bundle/policy-basics.ts';
import { repoRoot } from '../bundle/schema.ts';

const read = (f: string) => readFileSync(join(repoRoot, f), 'utf8');
const texts = () => ({ packageJson: read(releaseFiles.packageJson), lock: read(releaseFiles.lock), kustomization: read(releaseFiles.kustomization) });

test('the tree as committed: the image tag equals package.json\'s version', () => {
  assert.match(read(releaseFiles.kustomization), new RegExp(`^    newTag: ${readPackageVersion().replace(/\./g, '\\.')}$`, 'm'));
});

test('a release changes exactly the version lines: package.json, the lock\'s two root copies, the image tag', () => {
  const before = texts();
  const after = applyRelease(before, '1.2.3-rc.1');
  assert.equal(JSON.parse(after.packageJson).version, '1.2.3-rc.1');
  const lock = JSON.parse(after.lock) as { version: string; packages: Record<string, { version: string }> };
  assert.equal(lock.version, '1.2.3-rc.1');
  assert.equal(lock.packages['']!.version, '1.2.3-rc.1');
  assert.match(after.kustomization, /^    newTag: 1\.2\.3-rc\.1$/m);
  const changed = (a: string, b: string) => a.split('\n').filter((l, i) => l !== b.split('\n')[i]).length;
  assert.deepEqual([changed(before.packageJson, after.packageJson), changed(before.lock, after.lock), changed(before.kustomization, after.kustomization)], [1, 2, 1]);
  // Dependencies' versions in the lock are untouched.
  assert.deepEqual(Object.entries(lock.packages).filter(([k]) => k !== '').map(([, v]) => v.version), Object.entries((JSON.parse(before.lock) as typeof lock).packages).filter(([k]) => k !== '').map(([, v]) => v.version));
});

test('refuses what is not a version usable as an image tag', () => {
  for (const bad of ['1.2', 'v1.2.3', '1.2.3+build', 'latest', '01.2.3']) assert.throws(() => applyRelease(texts(), bad), ReleaseError, bad);
});

test('`npm run release -- X.Y.Z` edits a copy of the tree and the bundle still validates its tag against the version', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-release-'));
  try {
    mkdirSync(join(dir, 'scripts'));
    cpSync(join(repoRoot, 'scripts/release.ts'), join(dir, 'scripts/release.ts'));
    for (const f of Object.values(releaseFiles)) cpSync(join(repoRoot, f), join(dir, f), { recursive: true });
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'scripts/release.ts'), '2.0.0']);
    assert.match(stdout, /release 2\.0\.0/);
    assert.equal(readPackageVersion(dir), '2.0.0');
    assert.match(readFileSync(join(dir, releaseFiles.kustomization), 'utf8'), /newTag: 2\.0\.0/);
    await assert.rejects(promisify(execFile)(process.execPath, [join(dir, 'scripts/release.ts'), 'two']), (e: { code?: number; stderr?: string }) => e.code === 2 && /not a release version/.test(e.stderr ?? ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
