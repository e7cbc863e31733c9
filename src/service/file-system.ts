// The file-system seam: the handful of calls the store makes, so tests can inject ENOSPC, EIO or short writes
// without a real faulty disk. The seam is promise-shaped (a fake can delay or fail any call), but the real one makes
// synchronous system calls.
//
// Why synchronous: with the async fs API every call of a write cycle (open, write, fsync, close, rename, fsync of
// the directory) completes on a thread-pool thread and then waits for the event loop to run its callback. Under
// load the loop is busy parsing and answering requests, so each of those six trips waits behind a poll phase full
// of them: the cycle measured 2 ms with one client and 5 ms at 64 connections, and every visit waits for a cycle.
// Synchronous calls spend the cycle's disk time (1-2 ms here) in one stretch with no trips at all. Every visit
// waits for that write anyway; what the stretch delays is only the requests that do not need the disk (/healthz,
// /metrics), by at most one write. The cost: a disk that hangs hangs the whole process, probes included, which is
// also what tells Kubernetes to restart it. Figures, and the worker-thread writer that was tried instead, are in
// docs/benchmarks.md.
import fs from 'node:fs';

export interface FileSystem {
  open(path: string, flags: number, mode: number): Promise<number>;
  write(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

// `async` turns a thrown errno error into a rejected promise, so callers see the same shape as from any seam.
export const nodeFileSystem: FileSystem = {
  open: async (path, flags, mode) => fs.openSync(path, flags, mode),
  write: async (fd, data, offset, length, position) => fs.writeSync(fd, data, offset, length, position),
  fsync: async (fd) => fs.fsyncSync(fd),
  close: async (fd) => fs.closeSync(fd),
  rename: async (from, to) => fs.renameSync(from, to),
  unlink: async (path) => fs.unlinkSync(path),
};
