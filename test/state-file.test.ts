import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { formatState, parseState, readState, removeStaleTempFiles, StateFileError } from '../src/service/state-file.ts';
import { BAD_STATE_FILES } from '../testing/support/bad-state-files.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

describe('parseState', () => {
  test('reads the format the seed Python app writes', () => {
    assert.deepEqual(parseState('{"counter": 66}'), { counter: 66 });
    assert.deepEqual(parseState('{"counter":0}\n'), { counter: 0 });
    assert.deepEqual(parseState(`{"counter": ${Number.MAX_SAFE_INTEGER}}`), { counter: Number.MAX_SAFE_INTEGER });
  });

  test('writes exactly {"counter": N}', () => {
    assert.equal(formatState(66), '{"counter": 66}');
    assert.equal(JSON.parse(formatState(7)).counter, 7);
  });
});

describe('readState', () => {
  test('a missing file counts from 0', async () => {
    const dir = await tempDir();
    assert.equal(readState(path.join(dir, 'visits.json')), 0);
  });

  test('reads a valid file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'visits.json');
    await writeFile(file, '{"counter": 66}');
    assert.equal(readState(file), 66);
  });

  for (const bad of BAD_STATE_FILES) {
    test(`refuses ${bad.name} and leaves the file untouched`, async () => {
      const dir = await tempDir();
      const file = path.join(dir, 'visits.json');
      await writeFile(file, bad.content);
      const before = await readFile(file);
      assert.throws(() => readState(file), (error: unknown) => {
        assert.ok(error instanceof StateFileError);
        assert.equal(error.file, file);
        assert.match(error.problem, bad.problem);
        return true;
      });
      assert.deepEqual(await readFile(file), before);
    });
  }

  test('refuses a symlink, even to a valid file', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'real.json'), '{"counter": 3}');
    await symlink(path.join(dir, 'real.json'), path.join(dir, 'visits.json'));
    assert.throws(() => readState(path.join(dir, 'visits.json')), /symlink/);
  });

  test('refuses a directory', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'visits.json'));
    assert.throws(() => readState(path.join(dir, 'visits.json')), /is a directory/);
  });
});

describe('removeStaleTempFiles', () => {
  test('removes only our temp files, never reading them', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'visits.json');
    await writeFile(file, '{"counter": 5}');
    await writeFile(path.join(dir, 'visits.json.123.1.tmp'), '{"counter": 9');
    await writeFile(path.join(dir, 'visits.json.99.42.tmp'), '');
    await writeFile(path.join(dir, 'notes.txt'), 'keep');
    await writeFile(path.join(dir, 'other.json.1.1.tmp'), 'keep');
    await writeFile(path.join(dir, 'visits.json.backup.tmp'), 'an operator copy');
    const removed = removeStaleTempFiles(file);
    assert.deepEqual(removed.sort(), ['visits.json.123.1.tmp', 'visits.json.99.42.tmp']);
    assert.deepEqual((await readdir(dir)).sort(), ['notes.txt', 'other.json.1.1.tmp', 'visits.json', 'visits.json.backup.tmp']);
    assert.equal(readState(file), 5);
  });
});
