// A command that prints a large report and exits must not lose its end when stdout is a pipe whose reader is slow:
// a `rollcall compare --json` report was cut off at a few hundred KiB inside a test runner. The child prints 1 MiB
// and exits; the parent reads nothing for half a second, then everything. Plain process.exit() delivers only what
// fitted into the pipe's buffer (the control case, so the test shows the failure it guards against).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const helper = path.resolve(import.meta.dirname, '../scripts/lib/exit-flushed.ts');
const SIZE = 1 << 20;

async function slowRead(exit: string): Promise<{ code: number | null; bytes: number }> {
  const script = `import { exitWhenFlushed } from ${JSON.stringify(helper)};
console.log('x'.repeat(${SIZE - 1})); console.error('done');
${exit}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdout.pause();
  await sleep(500);
  let bytes = 0;
  child.stdout.on('data', (d: Buffer) => (bytes += d.length));
  child.stdout.resume();
  return { code: await closed, bytes };
}

test('exitWhenFlushed: all of a 1 MiB report reaches a slow pipe reader, with the exit code', async () => {
  assert.deepEqual(await slowRead('exitWhenFlushed(3);'), { code: 3, bytes: SIZE });
});

test('control: process.exit() right after the same write loses its end on the same pipe', async () => {
  const { code, bytes } = await slowRead('process.exit(3);');
  assert.equal(code, 3);
  assert.ok(bytes < SIZE, `process.exit delivered ${bytes} of ${SIZE} bytes`);
});
