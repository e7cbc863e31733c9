// A FileSystem seam over the real one that records every call and fails the ones a test asks it to.
import type { FileSystem } from '../../src/service/file-system.ts';
import { nodeFileSystem } from '../../src/service/file-system.ts';

export type Operation = keyof FileSystem;

export function errnoError(code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: injected fault`);
  error.code = code;
  return error;
}

export class FaultyFileSystem implements FileSystem {
  readonly calls: { op: Operation; args: unknown[] }[] = [];
  /** Fail calls of `op` with `code` while set; `times` limits how often. */
  #faults = new Map<Operation, { code: string; times: number }>();
  /** write() writes at most this many bytes per call (a short write), when set. */
  shortWriteBytes: number | undefined;
  /** Delay every call by this many ms (to widen races). */
  delayMs = 0;

  fail(op: Operation, code: string, times = Number.POSITIVE_INFINITY): void {
    this.#faults.set(op, { code, times });
  }

  heal(): void {
    this.#faults.clear();
    this.shortWriteBytes = undefined;
  }

  async #call<T>(op: Operation, args: unknown[], run: () => Promise<T>): Promise<T> {
    this.calls.push({ op, args });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const fault = this.#faults.get(op);
    if (fault && fault.times > 0) {
      fault.times--;
      throw errnoError(fault.code);
    }
    return run();
  }

  open = (path: string, flags: number, mode: number) => this.#call('open', [path], () => nodeFileSystem.open(path, flags, mode));
  write = (fd: number, data: Uint8Array, offset: number, length: number, position: number) =>
    this.#call('write', [fd, length], () =>
      nodeFileSystem.write(fd, data, offset, this.shortWriteBytes === undefined ? length : Math.min(length, this.shortWriteBytes), position),
    );
  fsync = (fd: number) => this.#call('fsync', [fd], () => nodeFileSystem.fsync(fd));
  close = (fd: number) => this.#call('close', [fd], () => nodeFileSystem.close(fd));
  rename = (from: string, to: string) => this.#call('rename', [from, to], () => nodeFileSystem.rename(from, to));
  unlink = (path: string) => this.#call('unlink', [path], () => nodeFileSystem.unlink(path));

  /** Paths of the temp files opened so far, in order. */
  tempFilesOpened(): string[] {
    return this.calls.filter((c) => c.op === 'open' && String(c.args[0]).endsWith('.tmp')).map((c) => String(c.args[0]));
  }
}
