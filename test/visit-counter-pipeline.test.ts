// The pipelined group commit of VisitCounter under injected delays and faults: while batch k renames and fsyncs
// the directory, batch k+1 already writes its temp file; renames stay in batch order; a failure of batch k refuses
// k+1 even when k+1 was already prepared, and numbering restarts right after the last acknowledged visit.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DurableFile } from '../src/service/durable-write.ts';
import { readState } from '../src/service/state-file.ts';
import { VisitCounter } from '../src/service/visit-counter.ts';
import { errnoError, FaultyFileSystem } from '../testing/support/faulty-fs.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

async function setup() {
  const dir = await tempDir();
  const target = path.join(dir, 'visits.json');
  const fs = new FaultyFileSystem();
  const counter = new VisitCounter({ file: new DurableFile(fs, target), initial: 0, retryDelayMs: 10_000 });
  return { dir, target, fs, counter };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Sends `n` visits, a few per millisecond, so they spread over many overlapping batches. */
async function trickle(counter: VisitCounter, n: number): Promise<PromiseSettledResult<number>[]> {
  const visits: Promise<number>[] = [];
  for (let i = 0; i < n; i++) {
    const visit = counter.visit();
    visit.catch(() => {}); // settled below; refusals before that are expected, not unhandled
    visits.push(visit);
    await (i % 3 === 0 ? new Promise((resolve) => setTimeout(resolve, 1)) : tick());
  }
  return Promise.allSettled(visits);
}

describe('VisitCounter pipeline', { timeout: 20_000 }, () => {
  test('the next batch writes its temp file while the previous one commits', async () => {
    const { fs, counter } = await setup();
    const release = deferred();
    const realRename = fs.rename;
    let renames = 0;
    // Hold the first rename until the second batch has opened its temp file.
    fs.rename = async (from: string, to: string) => {
      if (++renames === 1) await release.promise;
      return realRename(from, to);
    };
    const first = counter.visit();
    while (renames === 0) await tick();
    const second = counter.visit();
    while (fs.tempFilesOpened().length < 2) await tick();
    release.resolve();
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
    await counter.close();
  });

  test('renames happen in batch order and the file never goes back, whatever each write costs', async () => {
    const { target, fs, counter } = await setup();
    const realWrite = fs.write;
    const realRename = fs.rename;
    let n = 0;
    // Uneven, pseudo-random delays on writes and renames.
    const jitter = () => new Promise((resolve) => setTimeout(resolve, (n = (n * 7 + 3) % 11)));
    fs.write = async (...args: Parameters<typeof realWrite>) => (await jitter(), realWrite(...args));
    const renamed: number[] = [];
    fs.rename = async (from: string, to: string) => {
      await jitter();
      await realRename(from, to);
      renamed.push(readState(target));
    };
    const results = await trickle(counter, 200);
    const numbers = results.map((r) => (r.status === 'fulfilled' ? r.value : -1)).sort((a, b) => a - b);
    assert.deepEqual(numbers, Array.from({ length: 200 }, (_, i) => i + 1));
    assert.ok(renamed.length > 2, `several batches (${renamed.length})`);
    assert.deepEqual(renamed, [...renamed].sort((a, b) => a - b), 'each rename installs a higher count');
    assert.equal(renamed.at(-1), 200);
    const tempSeqs = fs.calls.filter((c) => c.op === 'rename').map((c) => Number(String(c.args[0]).split('.').at(-2)));
    assert.deepEqual(tempSeqs, [...tempSeqs].sort((a, b) => a - b), 'temp files are renamed in the order they were made');
    await counter.close();
  });

  test('a failed commit of batch k refuses batch k+1 already prepared, and removes its temp file', async () => {
    const { dir, target, fs, counter } = await setup();
    const secondPrepared = deferred();
    const realRename = fs.rename;
    let renames = 0;
    fs.rename = async (from: string, to: string) => {
      if (++renames > 1) return realRename(from, to);
      await secondPrepared.promise; // batch 2 has written, fsynced and closed its temp file
      throw errnoError('EIO');
    };
    const realClose = fs.close;
    let closes = 0;
    fs.close = async (fd: number) => {
      await realClose(fd);
      if (++closes === 2) secondPrepared.resolve();
    };
    const first = assert.rejects(counter.visit(), { code: 'EIO' });
    while (fs.tempFilesOpened().length < 1) await tick();
    const second = [counter.visit(), counter.visit()].map((visit) => assert.rejects(visit, { code: 'EABORTED' }));
    await first;
    await Promise.all(second);
    assert.equal(renames, 1, 'the refused batch was never renamed');
    assert.deepEqual(await readdir(dir), [], 'no temp file left, no visits.json written');
    assert.equal(counter.healthy, false);
    assert.equal(await counter.visit(), 1, 'numbering restarts after the last acknowledged visit');
    assert.equal(counter.healthy, true);
    assert.equal(readState(target), 1);
    await counter.close();
  });

  test('a batch cut on top of a failed one that then fails itself does not move the numbering', async () => {
    const { dir, target, fs, counter } = await setup();
    const firstFailed = deferred();
    const realRename = fs.rename;
    let renames = 0;
    fs.rename = async (from: string, to: string) => {
      if (++renames > 1) return realRename(from, to);
      firstFailed.resolve();
      throw errnoError('EIO');
    };
    const realFsync = fs.fsync;
    let fsyncs = 0;
    // Batch 2's temp-file fsync fails too, but only after batch 1 has failed: batch 2 is already condemned.
    fs.fsync = async (fd: number) => {
      if (++fsyncs !== 2) return realFsync(fd);
      await firstFailed.promise;
      await tick();
      throw errnoError('EIO');
    };
    // Assertions attached at once: these visits reject while the test is still awaiting other things.
    const first = assert.rejects(counter.visit(), { code: 'EIO' });
    while (fs.tempFilesOpened().length < 1) await tick();
    const second = [counter.visit(), counter.visit(), counter.visit()].map((visit) => assert.rejects(visit));
    await first;
    await Promise.all(second);
    assert.deepEqual(await readdir(dir), []);
    const again = await Promise.all([counter.visit(), counter.visit()]);
    assert.deepEqual(again.sort(), [1, 2], 'nothing was acknowledged, so the numbers start at 1 again');
    assert.equal(readState(target), 2);
    await counter.close();
  });

  test('a failure while later batches are queued loses and repeats no number (stress)', async () => {
    const { target, fs, counter } = await setup();
    const realFsync = fs.fsync;
    const realRename = fs.rename;
    let calls = 0;
    // Every 13th fsync and every 17th rename fail, with small delays so batches overlap.
    fs.fsync = async (fd: number) => {
      await new Promise((resolve) => setTimeout(resolve, calls % 3));
      if (++calls % 13 === 0) throw errnoError('EIO');
      return realFsync(fd);
    };
    let renameCalls = 0;
    fs.rename = async (from: string, to: string) => {
      if (++renameCalls % 17 === 0) throw errnoError('EROFS');
      return realRename(from, to);
    };
    const results = await trickle(counter, 600);
    const acknowledged = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    assert.ok(acknowledged.length < 600, 'some visits were refused');
    assert.deepEqual(acknowledged.sort((a, b) => a - b), Array.from({ length: acknowledged.length }, (_, i) => i + 1));
    fs.fsync = realFsync;
    fs.rename = realRename;
    const last = await counter.visit();
    assert.equal(last, acknowledged.length + 1);
    assert.equal(readState(target), last);
    await counter.close();
  });
});
