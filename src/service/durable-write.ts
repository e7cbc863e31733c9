// Durable atomic replace of one small file, split in two phases so a caller can overlap them:
//   prepare: write a fresh temp file in the same directory (every byte, looping over short writes) and fsync it;
//   commit:  rename it over the target and fsync the directory, so the new directory entry survives a crash.
// Written by hand because write-file-atomic neither fsyncs the directory nor notices a short write on a full disk
// (see ../shared/NOTES.md, "Durable file writes"). Only Linux semantics are relied on.
import { constants, fstatSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FileSystem } from './file-system.ts';

const TEMP_SUFFIX = '.tmp';

/**
 * Temp files are `<target>.<pid>.<seq>.tmp`: unique per process, recognisable for clean-up after a crash. Only that
 * exact shape (two runs of decimal digits) is ours; an operator's `visits.json.backup.tmp` is not.
 */
export function isTempFileOf(target: string, name: string): boolean {
  const base = path.basename(target);
  if (!name.startsWith(`${base}.`) || !name.endsWith(TEMP_SUFFIX)) return false;
  return /^[1-9]\d*\.[1-9]\d*$/.test(name.slice(base.length + 1, -TEMP_SUFFIX.length));
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

  readonly #onDirectoryReplaced: ((dir: string) => void) | undefined;

  constructor(fs: FileSystem, target: string, options: { onDirectoryReplaced?: (dir: string) => void } = {}) {
    this.#fs = fs;
    this.#onDirectoryReplaced = options.onDirectoryReplaced;
    this.target = target;
    this.#dir = path.dirname(target);
  }

  /** Writes and fsyncs a new temp file holding `data`; returns its path. Leaves nothing behind on failure. */
  async prepare(data: Uint8Array): Promise<string> {
    // A fresh name every time: a temp file whose fsync failed must never be reused (its pages may be lost).
    const temp = `${this.target}.${process.pid}.${++this.#seq}${TEMP_SUFFIX}`;
    const fd = await this.#fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
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
  // to each commit. If its fsync fails the descriptor is dropped and reopened next time. If the directory was
  // replaced (deleted and recreated, or another volume mounted there), the open descriptor still names the old one
  // and fsyncing it would make none of the new renames durable: a stat of the path against the descriptor (one
  // system call per commit) catches that, and the new directory is opened instead.
  async #directoryFd(): Promise<number> {
    if (this.#dirFd !== undefined && !this.#sameDirectory(this.#dirFd)) {
      const stale = this.#dirFd;
      this.#dirFd = undefined;
      await this.#fs.close(stale).catch(() => {});
      this.#onDirectoryReplaced?.(this.#dir);
    }
    this.#dirFd ??= await this.#fs.open(this.#dir, constants.O_RDONLY | constants.O_DIRECTORY, 0);
    return this.#dirFd;
  }

  #sameDirectory(fd: number): boolean {
    try {
      const open = fstatSync(fd);
      const now = statSync(this.#dir);
      return open.ino === now.ino && open.dev === now.dev;
    } catch {
      // The path is gone (the rename just made it there, so this is a race with a removal): reopen and let the
      // open fail with the real error.
      return false;
    }
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
