// The file-system seam: the handful of calls the store makes, so tests can inject ENOSPC, EIO or short writes
// without a real faulty disk. Callback-style fs wrapped by hand: fs.promises allocates a FileHandle per open and
// costs measurably more per write cycle on the hot path (see docs/benchmarks.md).
import fs from 'node:fs';

export interface FileSystem {
  open(path: string, flags: number, mode: number): Promise<number>;
  write(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

function settle<T>(resolve: (value: T) => void, reject: (error: Error) => void) {
  return (error: Error | null, value?: T) => (error ? reject(error) : resolve(value as T));
}

export const nodeFileSystem: FileSystem = {
  open: (path, flags, mode) => new Promise((resolve, reject) => fs.open(path, flags, mode, settle(resolve, reject))),
  write: (fd, data, offset, length, position) =>
    new Promise((resolve, reject) =>
      fs.write(fd, data, offset, length, position, (error, written) => (error ? reject(error) : resolve(written))),
    ),
  fsync: (fd) => new Promise((resolve, reject) => fs.fsync(fd, settle(resolve, reject))),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, settle(resolve, reject))),
  rename: (from, to) => new Promise((resolve, reject) => fs.rename(from, to, settle(resolve, reject))),
  unlink: (path) => new Promise((resolve, reject) => fs.unlink(path, settle(resolve, reject))),
};
