// Durable atomic replace of one small file, split in two phases so a caller can overlap them:
//   prepare: write a fresh temp file in the same directory (every byte, looping over short writes) and fsync it;
//   commit:  rename it over the target and fsync the directory, so the new directory entry survives a crash.
// Written by hand because write-file-atomic neither fsyncs the directory nor notices a short write on a full disk
// (see ../shared/NOTES.md, "Durable file writes"). Only Linux semantics are relied on.
//
// The directory is pinned. The one the data-directory lock was taken in (or, without one, the one found at the first
// write) is the only one written: before a temp file is created and again before the rename, the path must still
// name it. A directory replaced while the server runs (a symlink repointed, `rm -rf` and `mkdir`, another volume
// mounted there) is not locked by this process, and a second server may own it: every write then fails with
// EDATADIRREPLACED (503, not ready) until the path names the locked directory again. Both checks are synchronous
// stats next to synchronous calls, so the window in which a replacement can slip in is the few microseconds between
// the check and the rename; a batch renamed in that window lands in the locked directory, never in the new one.
//
// Temp file names carry 64 random bits: in a directory another user can write to (refused at start-up, see
// data-dir-safety.ts, but the names do not rely on it) a predictable name could be claimed first, making every
// write fail with EEXIST. They are created with O_EXCL and O_NOFOLLOW, so an existing file or symlink is never
// written through.
import { randomBytes } from 'node:crypto';
import { constants, fstatSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FileSystem } from './file-system.ts';

const TEMP_SUFFIX = '.tmp';

/**
 * Temp files are `<target>.<pid>.<seq>.<16 hex digits>.tmp`: unique per process, unpredictable, recognisable for
 * clean-up after a crash. Only that exact shape is ours (and `<target>.<pid>.<seq>.tmp`, which earlier versions
 * wrote); an operator's `visits.json.backup.tmp` is not.
 */
export function isTempFileOf(target: string, name: string): boolean {
  const base = path.basename(target);
  if (!name.startsWith(`${base}.`) || !name.endsWith(TEMP_SUFFIX)) return false;
  return /^[1-9]\d*\.[1-9]\d*(?:\.[0-9a-f]{16})?$/.test(name.slice(base.length + 1, -TEMP_SUFFIX.length));
}

/** Device and inode of a directory. */
export interface DirectoryIdentity {
  dev: number;
  ino: number;
}

/** The path no longer names the directory this process locked (or first wrote to). */
export class DirectoryReplacedError extends Error {
  readonly code = 'EDATADIRREPLACED';
}

export class ShortWriteError extends Error {
  readonly code = 'ESHORTWRITE';
}

export class DurableFile {
  readonly target: string;
  readonly #fs: FileSystem;
  readonly #dir: string;
  #dirFd: number | undefined;
  #seq = 0;
  /** Temp files whose removal failed (e.g. the volume went read-only): removed after the next successful commit. */
  readonly #stranded = new Set<string>();

  /** The directory every write must go to; set from the lock, or at the first write. */
  #pinned: DirectoryIdentity | undefined;

  constructor(fs: FileSystem, target: string, options: { directory?: DirectoryIdentity } = {}) {
    this.#fs = fs;
    this.#pinned = options.directory;
    this.target = target;
    this.#dir = path.dirname(target);
  }

  /** Writes and fsyncs a new temp file holding `data`; returns its path. Leaves nothing behind on failure. */
  async prepare(data: Uint8Array): Promise<string> {
    this.#checkDirectory();
    // A fresh name every time: a temp file whose fsync failed must never be reused (its pages may be lost).
    const temp = `${this.target}.${process.pid}.${++this.#seq}.${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`;
    const fd = await this.#fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      await this.#writeAll(fd, data);
      await this.#fs.fsync(fd);
    } catch (error) {
      await this.#fs.close(fd).catch(() => {});
      await this.#remove(temp);
      throw error;
    }
    try {
      await this.#fs.close(fd);
    } catch (error) {
      await this.#remove(temp);
      throw error;
    }
    return temp;
  }

  /** Renames a prepared temp file over the target and fsyncs the directory. */
  async commit(temp: string): Promise<void> {
    try {
      this.#checkDirectory();
      await this.#fs.rename(temp, this.target);
    } catch (error) {
      await this.#remove(temp);
      throw error;
    }
    const dirFd = await this.#directoryFd();
    try {
      await this.#fs.fsync(dirFd);
    } catch (error) {
      this.#dirFd = undefined;
      await this.#fs.close(dirFd).catch(() => {});
      throw error;
    }
    // The disk takes writes again: clear what an earlier failure could not.
    if (this.#stranded.size > 0) for (const stranded of [...this.#stranded]) await this.#remove(stranded);
  }

  /** Drops a prepared temp file that will not be committed. */
  async discard(temp: string): Promise<void> {
    await this.#remove(temp);
  }

  /**
   * Proves the directory takes durable writes without changing anything: a temp file written, fsync'd and removed,
   * then the directory fsync'd. Throws the file-system error (EACCES, EROFS, ENOSPC, EIO...) otherwise.
   */
  async probe(): Promise<void> {
    const temp = await this.prepare(new Uint8Array(0));
    await this.#fs.unlink(temp);
    const dirFd = await this.#directoryFd();
    await this.#fs.fsync(dirFd);
  }

  /** prepare + commit: the whole durable replace in one call. */
  async replace(data: Uint8Array): Promise<void> {
    await this.commit(await this.prepare(data));
  }

  async close(): Promise<void> {
    const fd = this.#dirFd;
    this.#dirFd = undefined;
    if (fd !== undefined) await this.#fs.close(fd).catch(() => {});
  }

  // The directory stays open for the process lifetime: reopening it for every write would add an open and a close
  // to each commit. If its fsync fails the descriptor is dropped and reopened next time; a reopened descriptor must
  // be the pinned directory, or the fsync would make none of our renames durable.
  async #directoryFd(): Promise<number> {
    if (this.#dirFd !== undefined) return this.#dirFd;
    const fd = await this.#fs.open(this.#dir, constants.O_RDONLY | constants.O_DIRECTORY, 0);
    const stat = fstatSync(fd);
    if (this.#pinned === undefined) this.#pinned = { dev: stat.dev, ino: stat.ino };
    else if (stat.dev !== this.#pinned.dev || stat.ino !== this.#pinned.ino) {
      await this.#fs.close(fd).catch(() => {});
      throw this.#replaced();
    }
    this.#dirFd = fd;
    return fd;
  }

  /** Throws DirectoryReplacedError unless the path still names the pinned directory. */
  #checkDirectory(): void {
    if (this.#pinned === undefined) return;
    let now: DirectoryIdentity;
    try {
      now = statSync(this.#dir);
    } catch (error) {
      throw Object.assign(this.#replaced(), { cause: error });
    }
    if (now.ino !== this.#pinned.ino || now.dev !== this.#pinned.dev) throw this.#replaced();
  }

  #replaced(): DirectoryReplacedError {
    return new DirectoryReplacedError(`${this.#dir} is no longer the directory this process locked (replaced or removed while running); not writing there`);
  }

  /** Removes a temp file; if that fails too, remembers it for later instead of leaving it behind for good. */
  async #remove(temp: string): Promise<void> {
    try {
      await this.#fs.unlink(temp);
      this.#stranded.delete(temp);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') this.#stranded.delete(temp);
      else this.#stranded.add(temp);
    }
  }

  async #writeAll(fd: number, data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.byteLength) {
      const written = await this.#fs.write(fd, data, offset, data.byteLength - offset, offset);
      // write(2) returning 0 for a non-empty buffer means no progress is possible: fail rather than spin.
      if (written <= 0) throw new ShortWriteError(`short write: ${offset} of ${data.byteLength} bytes written`);
      offset += written;
    }
  }
}
