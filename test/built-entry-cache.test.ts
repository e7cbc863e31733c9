// The rehearsal's pods run the built entry from a cache keyed by sourceHash (scripts/lib/built-entry.ts): the key must
// change with anything the bundle is made from, and only with that, or the pods would run a stale bundle (or rebuild
// for nothing).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { sourceHash } from '../scripts/lib/built-entry.ts';

const tree = mkdtempSync(path.join(os.tmpdir(), 'rollcall-hash-'));
after(() => rmSync(tree, { recursive: true, force: true }));
const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(tree, file)), { recursive: true });
  writeFileSync(path.join(tree, file), text);
};
for (const [file, text] of [
  ['src/service/main.ts', 'main'],
  ['src/service/app.ts', 'app'],
  ['package.json', '{}'],
  ['package-lock.json', '{"lock":1}'],
  ['scripts/build.ts', 'build'],
  ['scripts/lib/service-command.ts', 'flags'],
  ['README.md', 'docs'],
  ['test/app.test.ts', 'a test'],
] as const) write(file, text);

describe('sourceHash', () => {
  test('is stable for an unchanged tree', () => {
    assert.equal(sourceHash(tree), sourceHash(tree));
  });

  test('changes with a source file, the lockfile, package.json, the build script and its helpers, and back', () => {
    const original = sourceHash(tree);
    for (const [file, before] of [
      ['src/service/app.ts', 'app'],
      ['package-lock.json', '{"lock":1}'],
      ['package.json', '{}'],
      ['scripts/build.ts', 'build'],
      ['scripts/lib/service-command.ts', 'flags'],
    ] as const) {
      write(file, `${before} changed`);
      assert.notEqual(sourceHash(tree), original, file);
      write(file, before);
      assert.equal(sourceHash(tree), original, `${file} restored`);
    }
  });

  test('changes when a source file is added or renamed', () => {
    const original = sourceHash(tree);
    write('src/service/new.ts', 'app');
    assert.notEqual(sourceHash(tree), original);
    rmSync(path.join(tree, 'src/service/new.ts'));
    assert.equal(sourceHash(tree), original);
  });

  test('ignores files the bundle is not made from (docs, tests)', () => {
    const original = sourceHash(tree);
    write('README.md', 'other docs');
    write('test/app.test.ts', 'another test');
    assert.equal(sourceHash(tree), original);
  });
});
