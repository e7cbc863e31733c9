// The rehearsal's temporary directories (/tmp/rollcall-compare-*: the pods' data volumes), removed on every way out of
// the process. A run removes its own in its `finally`; this registry covers what a `finally` cannot: process.exit()
// from a signal handler (SIGINT, SIGTERM: `rollcall compare` ends its pods and exits) or from an error path, where no
// pending `finally` runs. Node's 'exit' handlers must be synchronous, hence rmSync.
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const live = new Set<string>();
let hooked = false;

function removeAllNow(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** A fresh directory `<tmpdir>/<prefix>XXXXXX`, removed at process exit if the caller has not removed it by then. */
export async function makeTempDir(prefix: string): Promise<string> {
  if (!hooked) {
    hooked = true;
    process.on('exit', removeAllNow);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  live.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.delete(dir);
}

