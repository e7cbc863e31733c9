import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DurableFile } from '../src/service/durable-write.ts';
import { readState } from '../src/service/state-file.ts';
import { StoreUnavailableError, VisitCounter } from '../src/service/visit-counter.ts';
import { FaultyFileSystem } from '../testing/support/faulty-fs.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

async function setup(initial = 0, retryDelayMs = 20) {
  const dir = await tempDir();
  const target = path.join(dir, 'visits.json');
  if (initial > 0) await writeFile(target, `{"counter": ${initial}}`);
  const fs = new FaultyFileSystem();
  const batches: number[] = [];
  const counter = new VisitCounter({
    file: new DurableFile(fs, target),
    initial: readState(target),
    retryDelayMs,
    metrics: { observeWrite: (_seconds, size) => batches.push(size), observeWriteFailure: () => {} },
  });
  return { dir, target, fs, counter, batches };
}

/** Settles every promise; returns the acknowledged numbers and the refusals. */
async function settleAll(visits: Promise<number>[]) {
  const results = await Promise.allSettled(visits);
  const acknowledged = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  return { acknowledged, refused };
}

describe('VisitCounter', () => {
  test('at Number.MAX_SAFE_INTEGER it refuses with EOVERFLOW, reports unhealthy with a reason, logs once and counts failures', async () => {
    const dir = await tempDir();
    const target = path.join(dir, 'visits.json');
    const failures: string[] = [];
    const errors: string[] = [];
    const counter = new VisitCounter({
      file: new DurableFile(new FaultyFileSystem(), target),
      initial: Number.MAX_SAFE_INTEGER - 1,
      retryDelayMs: 10,
      metrics: { observeWrite: () => {}, observeWriteFailure: (code) => failures.push(code) },
      logger: { info: () => {}, error: (_d, message) => errors.push(message) },
    });
    assert.equal(await counter.visit(), Number.MAX_SAFE_INTEGER);
    assert.equal(counter.healthy, true);
    for (let i = 0; i < 3; i++) await assert.rejects(counter.visit(), (error: unknown) => error instanceof StoreUnavailableError && error.code === 'EOVERFLOW');
    assert.equal(counter.healthy, false);
    assert.equal(counter.problem, 'counter-exhausted');
    assert.deepEqual(failures, ['EOVERFLOW', 'EOVERFLOW', 'EOVERFLOW']);
    assert.equal(errors.length, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(counter.healthy, false, 'no recovery from exhaustion');
    await counter.close();
  });

  test('1000 concurrent visits get the numbers 1..1000, each once, and the file says 1000', async () => {
    const { target, counter, batches } = await setup();
    const numbers = await Promise.all(Array.from({ length: 1000 }, () => counter.visit()));
    assert.deepEqual([...numbers].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i + 1));
    assert.equal(counter.value, 1000);
    assert.equal(await readFile(target, 'utf8'), '{"counter": 1000}');
    assert.ok(batches.length < 1000 / 2, `group commit batches visits (${batches.length} writes for 1000 visits)`);
    await counter.close();
  });

  test('visits made in one turn of the event loop share one write, even on a synchronous file system', async () => {
    // The real seam makes synchronous calls: a batch cut at the first visit would be written before the others
    // were even asked for, and every visit would get a write of its own.
    const { target, fs, counter, batches } = await setup();
    const numbers = await Promise.all(Array.from({ length: 50 }, () => counter.visit()));
    assert.deepEqual(numbers, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.deepEqual(batches, [50]);
    assert.equal(fs.calls.filter((c) => c.op === 'rename').length, 1);
    assert.equal(await readFile(target, 'utf8'), '{"counter": 50}');
    await counter.close();
  });

  test('counts on from the value in the file', async () => {
    const { target, counter } = await setup(66);
    assert.equal(await counter.visit(), 67);
    assert.equal(await readFile(target, 'utf8'), '{"counter": 67}');
    await counter.close();
  });

  test('a visit is acknowledged only after the directory fsync of the write holding it', async () => {
    const { fs, counter } = await setup();
    const visit = counter.visit();
    const number = await visit;
    const ops = fs.calls.map((c) => c.op);
    assert.equal(number, 1);
    assert.deepEqual(ops.slice(-3), ['rename', 'open', 'fsync'], 'rename, then the directory opened and fsynced');
    await counter.close();
  });

  test('a restart keeps the count', async () => {
    const { target, counter } = await setup();
    await Promise.all(Array.from({ length: 25 }, () => counter.visit()));
    await counter.close();
    const fs = new FaultyFileSystem();
    const again = new VisitCounter({ file: new DurableFile(fs, target), initial: readState(target) });
    assert.equal(await again.visit(), 26);
    await again.close();
  });

  for (const [op, code] of [
    ['write', 'ENOSPC'],
    ['fsync', 'EIO'],
    ['rename', 'EROFS'],
    ['open', 'EACCES'],
  ] as const) {
    test(`a failed ${op} (${code}) refuses the batch, keeps the file, then recovers by itself`, async () => {
      const { dir, target, fs, counter } = await setup(10);
      fs.fail(op, code);
      const { acknowledged, refused } = await settleAll(Array.from({ length: 20 }, () => counter.visit()));
      assert.deepEqual(acknowledged, []);
      assert.equal(refused.length, 20);
      for (const error of refused) {
        assert.ok(error instanceof StoreUnavailableError);
        assert.ok([code, 'EABORTED'].includes(error.code), error.code);
      }
      assert.equal(counter.healthy, false);
      assert.equal(counter.value, 10);
      assert.equal(await readFile(target, 'utf8'), '{"counter": 10}');
      assert.deepEqual(await readdir(dir), ['visits.json'], 'no temp file left behind');

      fs.heal();
      // No traffic: the counter's own recovery write must find the disk writable again.
      for (let i = 0; i < 100 && !counter.healthy; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(counter.healthy, true);
      assert.equal(await counter.visit(), 11, 'numbering continues right after the last acknowledged visit');
      assert.equal(await readFile(target, 'utf8'), '{"counter": 11}');
      await counter.close();
    });
  }

  test('a failure in the middle of a stream loses nothing acknowledged and repeats no number', async () => {
    const { target, fs, counter } = await setup();
    const acknowledged: number[] = [];
    let refused = 0;
    for (let round = 0; round < 30; round++) {
      if (round === 10) fs.fail('fsync', 'EIO', 3);
      // Two waves per round so one batch is committing while the next prepares when the fault hits.
      // Each wave is settled as it is made: a refusal can arrive before the second wave exists.
      const first = settleAll(Array.from({ length: 10 }, () => counter.visit()));
      await new Promise((resolve) => setImmediate(resolve));
      const second = settleAll(Array.from({ length: 10 }, () => counter.visit()));
      for (const settled of await Promise.all([first, second])) {
        acknowledged.push(...settled.acknowledged);
        refused += settled.refused.length;
      }
    }
    assert.ok(refused > 0, 'the injected failures refused some visits');
    assert.equal(acknowledged.length + refused, 600);
    const sorted = [...acknowledged].sort((a, b) => a - b);
    assert.deepEqual(sorted, Array.from({ length: acknowledged.length }, (_, i) => i + 1), 'acknowledged numbers are exactly 1..N');
    await counter.close();
    assert.equal(readState(target), acknowledged.length, 'the last write, which succeeded, holds exactly N');
  });

  test('after a failed directory fsync the file may hold unacknowledged visits, never fewer than acknowledged', async () => {
    const { target, fs, counter } = await setup(5);
    let fsyncs = 0;
    const realFsync = fs.fsync;
    // The second fsync of a write is the directory's: the rename already happened when it fails.
    fs.fsync = (fd: number) => (++fsyncs === 2 ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : realFsync(fd));
    await assert.rejects(counter.visit(), { code: 'EIO' });
    const onDisk = readState(target);
    assert.ok(onDisk >= 5 && onDisk <= 6, `file holds ${onDisk}`);
    assert.equal(await counter.visit(), 6, 'the refused visit\'s number is handed out again');
    assert.equal(readState(target), 6);
    await counter.close();
  });

  test('close waits for visits in flight, then refuses new ones', async () => {
    const { target, fs, counter } = await setup();
    fs.delayMs = 5;
    const inFlight = Array.from({ length: 10 }, () => counter.visit());
    await counter.close();
    assert.equal((await Promise.all(inFlight)).length, 10);
    assert.equal(await readFile(target, 'utf8'), '{"counter": 10}');
    await assert.rejects(counter.visit(), { code: 'ECLOSED' });
  });

  test('a data directory replaced under it: visits refused with EDATADIRREPLACED, problem data-dir-replaced, back when it is restored', async () => {
    const { dir, counter } = await setup(0, 20);
    assert.equal(await counter.visit(), 1);
    const { mkdir, rename, rm } = await import('node:fs/promises');
    await rename(dir, `${dir}.locked`);
    await mkdir(dir);
    await assert.rejects(counter.visit(), (error: StoreUnavailableError) => error.code === 'EDATADIRREPLACED');
    assert.equal(counter.healthy, false);
    assert.equal(counter.problem, 'data-dir-replaced');
    assert.deepEqual(await readdir(dir), []);
    await rm(dir, { recursive: true });
    await rename(`${dir}.locked`, dir);
    // The counter's own recovery write (every retryDelayMs) finds the locked directory back.
    for (let i = 0; i < 50 && !counter.healthy; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(counter.healthy, true);
    assert.equal(counter.problem, undefined);
    assert.equal(await counter.visit(), 2);
    await counter.close();
  });
});
