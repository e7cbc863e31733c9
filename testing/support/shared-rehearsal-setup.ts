// `npm test`'s global setup (node --test --test-global-setup): starts the shared real rehearsals
// (shared-rehearsal.ts) in a process of their own while the test files run, and ends it and removes its results when
// the run is over. The test files inherit the results' directory through the environment and wait for the groups they
// read. Without kustomize or kubectl nothing is rehearsed: the tests that need a rehearsal skip with that reason (or
// fail, under CI=true) on their own.
//
// Run as a program (`node testing/support/shared-rehearsal-setup.ts DIR`), it is that process.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRenderer } from '../../bundle/render.ts';
import { PodProcess } from '../../rehearsal/run/pod-process.ts';
import { PREPARER_PID_FILE, prepareSharedRehearsals, SHARED_REHEARSAL_DIR } from './shared-rehearsal.ts';

let dir: string | undefined;
let preparer: ChildProcess | undefined;
let exited: Promise<unknown> = Promise.resolve();

export async function globalSetup(): Promise<void> {
  if (!findRenderer()) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'rollcall-shared-rehearsal-'));
  process.env[SHARED_REHEARSAL_DIR] = dir;
  preparer = spawn(process.execPath, [fileURLToPath(import.meta.url), dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  exited = once(preparer, 'exit');
  await writeFile(path.join(dir, PREPARER_PID_FILE), String(preparer.pid));
}

export async function globalTeardown(): Promise<void> {
  // Still running only when no test waited for its last groups (a run of some of the files): not needed any more.
  if (preparer && preparer.exitCode === null && preparer.signalCode === null) preparer.kill('SIGTERM');
  await exited;
  if (dir) await rm(dir, { recursive: true, force: true });
}

if (import.meta.main) {
  const into = process.argv[2];
  if (!into) throw new Error('usage: node testing/support/shared-rehearsal-setup.ts DIR');
  // Ended early (the run is over, or interrupted): no server process of the rehearsal may outlive it.
  const stop = () => {
    for (const pod of PodProcess.live) pod.kill();
    process.exit(1);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  await prepareSharedRehearsals(into, log);
  log(`shared rehearsals: all done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
