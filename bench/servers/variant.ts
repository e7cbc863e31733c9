// Bench-only servers on exactly the stack of src/service/main.ts (createHttpServer: node:http with the same limits, the
// body/drain guard, @hono/node-server's listener; the Hono app with metrics and secure headers), with the counter
// swapped:
//   VARIANT=noop   an in-memory counter: /healthz is the framework's ceiling, GET / is a visit without the disk;
//   VARIANT=naive  one durable atomic write (DurableFile.replace) per visit, one after the other, no batching, through
//                  the async fs API as the obvious code would write it (the service's seam is synchronous, see
//                  src/service/file-system.ts; a synchronous naive writer would block the loop for every single visit).
// Env: PORT, HOST (127.0.0.1), DATA_DIR (naive only). Never part of the service; see bench/run.ts.
import fs from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createApp, type Counter } from '../../src/service/app.ts';
import { DurableFile } from '../../src/service/durable-write.ts';
import type { FileSystem } from '../../src/service/file-system.ts';
import { createHttpServer } from '../../src/service/http-server.ts';
import { Lifecycle } from '../../src/service/lifecycle.ts';
import { createMetrics } from '../../src/service/metrics.ts';
import { formatState, readState, STATE_FILE_NAME } from '../../src/service/state-file.ts';

const encoder = new TextEncoder();

const writeAsync = promisify(fs.write);
const asyncFileSystem: FileSystem = {
  open: promisify(fs.open),
  write: async (fd, data, offset, length, position) => (await writeAsync(fd, data, offset, length, position)).bytesWritten,
  fsync: promisify(fs.fsync),
  close: promisify(fs.close),
  rename: promisify(fs.rename),
  unlink: promisify(fs.unlink),
};

class MemoryCounter implements Counter {
  value = 0;
  readonly healthy = true;
  visit(): Promise<number> {
    return Promise.resolve(++this.value);
  }
}

/** The obvious durable counter: every visit waits for its own fsync'd atomic replace, one write at a time. */
class NaiveCounter implements Counter {
  readonly #file: DurableFile;
  #assigned: number;
  value: number;
  healthy = true;
  #last: Promise<unknown> = Promise.resolve();
  constructor(file: DurableFile, initial: number) {
    this.#file = file;
    this.#assigned = initial;
    this.value = initial;
  }
  visit(): Promise<number> {
    const write = this.#last.then(async () => {
      const next = this.#assigned + 1;
      await this.#file.replace(encoder.encode(formatState(next)));
      this.#assigned = next;
      this.value = next;
      return next;
    });
    this.#last = write.catch(() => {});
    return write;
  }
}

const variant = process.env['VARIANT'] ?? 'noop';
let counter: Counter;
if (variant === 'naive') {
  const target = path.resolve(process.env['DATA_DIR'] ?? './data', STATE_FILE_NAME);
  await mkdir(path.dirname(target), { recursive: true });
  counter = new NaiveCounter(new DurableFile(asyncFileSystem, target), readState(target));
} else if (variant === 'noop') {
  counter = new MemoryCounter();
} else {
  throw new Error(`unknown VARIANT ${variant}`);
}

const lifecycle = new Lifecycle();
const app = createApp({
  counter,
  lifecycle,
  clock: { now: () => new Date() },
  config: { podName: 'bench', version: 'bench', timeZone: 'Europe/Moscow' },
  metrics: createMetrics(),
});
const server = createHttpServer(app.fetch, { isDraining: () => lifecycle.draining });
server.listen(Number(process.env['PORT'] ?? 0), process.env['HOST'] ?? '127.0.0.1', () => lifecycle.markReady());
process.on('SIGTERM', () => process.exit(0));
