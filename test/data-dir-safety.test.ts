// Which directories may hold the counter: never a system directory, never one another user could write to.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { foreignWriterProblem, resolveDataDirectory, systemDirectoryProblem } from '../src/service/data-dir-safety.ts';

describe('systemDirectoryProblem', () => {
  const cases: [string, boolean][] = [
    ['/etc', true],
    ['/etc/rollcall', true],
    ['/usr/local/share/x', true],
    ['/proc', true],
    ['/sys/fs/cgroup', true],
    ['/', true],
    ['/var', true],
    ['/var/lib', true],
    ['/tmp', true],
    ['/root', true],
    ['/etc/../etc', true],
    ['/app/data', false],
    ['/var/lib/rollcall', false],
    ['/tmp/rollcall-x', false],
    ['/home/me/data', false],
    ['/etcetera', false],
    ['/usrdata', false],
  ];
  for (const [dir, refused] of cases) {
    test(`${dir} is ${refused ? 'refused' : 'accepted'}`, () => {
      assert.equal(systemDirectoryProblem(dir) !== undefined, refused, systemDirectoryProblem(dir));
    });
  }
});

describe('resolveDataDirectory', () => {
  test('resolves symlinks in the existing part and keeps the part still to be created', () => {
    const links: Record<string, string> = { '/data': '/etc' };
    const realpath = (p: string) => {
      if (p in links) return links[p]!;
      if (p === '/') return '/';
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    };
    assert.equal(resolveDataDirectory('/data/x/y', realpath), '/etc/x/y');
    assert.equal(resolveDataDirectory('/nothing/here', realpath), '/nothing/here');
  });
});

describe('foreignWriterProblem', () => {
  const me = { uid: 10001, gids: [10001] };
  const cases: [string, { uid: number; gid: number; mode: number }, RegExp | undefined][] = [
    ['ours, 0750', { uid: 10001, gid: 10001, mode: 0o40750 }, undefined],
    ["root's, group ours and writable (Kubernetes fsGroup, setgid)", { uid: 0, gid: 10001, mode: 0o42770 }, undefined],
    ['ours, world-writable', { uid: 10001, gid: 10001, mode: 0o40777 }, /writable by every user \(mode 0777\)/],
    ['ours, world-writable and sticky', { uid: 10001, gid: 10001, mode: 0o41777 }, undefined],
    ["root's, world-writable and sticky (like /tmp)", { uid: 0, gid: 0, mode: 0o41777 }, /sticky but not ours/],
    ["another user's", { uid: 1000, gid: 1000, mode: 0o40755 }, /belongs to uid 1000/],
    ['group-writable by a group we are not in', { uid: 0, gid: 50, mode: 0o40775 }, /writable by group 50/],
  ];
  for (const [name, stat, problem] of cases) {
    test(`${name}: ${problem ? 'refused' : 'accepted'}`, () => {
      const found = foreignWriterProblem(stat, me);
      if (problem) assert.match(found ?? '', problem);
      else assert.equal(found, undefined);
    });
  }
});
