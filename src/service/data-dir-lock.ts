// One owner per data directory. Two processes on one DATA_DIR hand out every number twice and lose half the
// visits, and a second one starting up could delete the live one's temp files, so the server takes this lock
// before it reads or removes anything in the directory and holds it for its whole life.
//
// Mechanism: a POSIX record lock (fcntl F_SETLK) on `<dir>/.rollcall.lock`, taken through node:sqlite, which is
// built into Node 24 (an exclusive transaction with `locking_mode=EXCLUSIVE` holds the lock until the connection
// closes; https://www.sqlite.org/pragma.html#pragma_locking_mode). Why this one:
// - The kernel drops the lock when the process dies, however it dies (SIGKILL, OOM kill), so a replacement pod
//   starts at once: no staleness timeout to wait out, and no paused holder (SIGSTOP, a frozen cgroup) that a timeout
//   would wrongly declare dead while it can still write.
// - Node core has no flock/fcntl. Alternatives weighed: a Unix socket bound in the directory (its takeover after a
//   crash races: a starting holder is bound but not yet listening, so a second process sees ECONNREFUSED, removes
//   the live socket and binds its own; and sun_path limits DATA_DIR to ~100 bytes); util-linux `flock` as a helper
//   child (works, but the image must ship the binary and the lock lives in another process); a native addon (a
//   .node file beside the bundled entry, per architecture). node:sqlite needs nothing outside the node binary.
// - SQLite keeps POSIX locks correct within one process too (its inode table), which plain fcntl would not.
// Cost: taking it takes ~30 ms at the first use of node:sqlite (loading the module), ~1 ms after.
// What it does not cover: POSIX locks are per kernel. Two pods on one node share a local or block volume's lock
// (ReadWriteOnce allows both); two hosts mounting one network block device read-write at once (a misconfiguration a
// block filesystem cannot survive anyway) each see only their own lock. On NFS the lock goes through the NFS lock
// protocol (lockd for v3, leases for v4): it works between hosts only if that is set up, and a client cut off past
// its lease loses the lock without being told. SQLite itself warns that locking on NFS is unreliable.
//
// Known cost: SQLite keeps the lock file open read-write for the process lifetime, and Linux refuses
// `mount -o remount,ro` of a volume with a file open for writing (EBUSY), so an operator cannot remount the data
// volume read-only under a running server (testing/faults/read-only.ts therefore puts the lock file on a bind mount
// of its own before it makes DATA_DIR read-only). A file system the kernel turns read-only after an error
// (errors=remount-ro) is not affected. flock(2) on the directory through util-linux `flock` as a helper child takes
// an exclusive lock with a read-only descriptor and would avoid it, at the cost of a second process per pod.
//
// The holder writes its pid and pod name to `<dir>/.rollcall.lock.holder` after taking the lock, so a second
// process can name it. The lock file itself is never removed: unlinking a lock file lets a waiter lock the old inode
// while a newcomer locks a new one.
//
// The lock file holds no data, so its content must never stop a start: SQLite refuses a file it cannot read as a
// database ("file is not a database"), and then the file is emptied in place (same inode, so a process that has it
// open still locks the same file) and the lock taken again. Neither file is ever opened through a symlink or written
// while it has a second hard link: in a directory another user could write to, either would let that user aim our
// writes at a file elsewhere (src/service/data-dir-safety.ts refuses such directories before this runs).
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export const LOCK_FILE_NAME = '.rollcall.lock';
export const HOLDER_FILE_NAME = '.rollcall.lock.holder';

export interface Holder {
  pid: number;
  pod: string;
  since: string;
}

export class DataDirLockedError extends Error {
  readonly dir: string;
  readonly holder: Holder | undefined;
  constructor(dir: string, holder: Holder | undefined) {
    const who = holder ? `pid ${holder.pid}, pod ${holder.pod}, since ${holder.since}` : 'a process that has not named itself yet';
    super(`${dir} is in use by another rollcall process (${who})`);
    this.dir = dir;
    this.holder = holder;
  }
}

/** A failure about one file of the lock: `file` names it, so the operator looks at the right one. */
export class LockFileError extends Error {
  readonly file: string;
  readonly code: string;
  constructor(file: string, problem: string, code: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.file = file;
    this.code = code;
  }
}

/** Device and inode: what a directory or file is, whatever path names it now. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export interface DataDirLock {
  readonly dir: string;
  /** The directory that was locked: a directory found at `dir` later with another identity is not ours. */
  readonly identity: FileIdentity;
  /** Releases the lock (also released by the kernel when the process exits). */
  release(): void;
}

/** Connections held open for the process lifetime: a collected DatabaseSync would close and drop the lock. */
const held = new Set<DatabaseSync>();

/** SQLite result codes (https://www.sqlite.org/rescode.html): another connection holds the lock; content not a database. */
const SQLITE_BUSY = 5;
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;
/** The holder file is one short JSON line; more is not ours. */
const HOLDER_MAX_BYTES = 4096;

const sameFile = (a: FileIdentity, b: FileIdentity) => a.dev === b.dev && a.ino === b.ino;
const errno = (error: unknown) => (error as { code?: string }).code ?? 'EUNKNOWN';

function readHolder(dir: string): Holder | undefined {
  try {
    const fd = openSync(path.join(dir, HOLDER_FILE_NAME), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let text: string;
    try {
      if (!fstatSync(fd).isFile()) return undefined;
      const buffer = Buffer.alloc(HOLDER_MAX_BYTES);
      text = buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      closeSync(fd);
    }
    const parsed = JSON.parse(text) as Partial<Holder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.pod !== 'string' || typeof parsed.since !== 'string') return undefined;
    return { pid: parsed.pid, pod: parsed.pod, since: parsed.since };
  } catch {
    return undefined;
  }
}

/**
 * Opens a file of the lock without following a symlink, creating it if missing, and checks it is a plain file of
 * its own (one link): the caller then writes only into it.
 */
function openOwnFile(file: string): { fd: number; identity: FileIdentity } {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under the name must not hang the open.
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch (error) {
    const code = errno(error);
    if (code === 'ELOOP') throw new LockFileError(file, 'is a symlink; refusing to follow it', code, { cause: error });
    throw new LockFileError(file, `cannot be opened (${(error as Error).message})`, code, { cause: error });
  }
  const stat = fstatSync(fd);
  const problem = !stat.isFile() ? 'is not a regular file' : stat.nlink !== 1 ? `has ${stat.nlink} hard links; refusing to write to a file that is also elsewhere` : undefined;
  if (problem) {
    closeSync(fd);
    throw new LockFileError(file, problem, 'EUNSAFE');
  }
  return { fd, identity: { dev: stat.dev, ino: stat.ino } };
}

function tryLock(file: string): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout: 0 });
  } catch (error) {
    throw new LockFileError(file, `cannot be opened as a lock (${(error as Error).message})`, errno(error) === 'EUNKNOWN' ? 'ELOCK' : errno(error), { cause: error });
  }
  try {
    // journal_mode MEMORY: nothing is ever written, and in EXCLUSIVE mode SQLite would otherwise leave a -journal
    // file beside the lock (OFF is not accepted on an empty database; MEMORY is).
    db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY');
    // An empty exclusive transaction: takes the exclusive lock and in EXCLUSIVE mode keeps it (SQLite writes its one
    // 4 KiB header page into the lock file the first time, never again).
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

const sqliteCode = (error: unknown): number => ((error as { errcode?: number }).errcode ?? -1) & 0xff;

/**
 * Takes the data directory's lock without waiting. Throws DataDirLockedError when another process holds it, and a
 * LockFileError naming the file otherwise (EACCES, EROFS, ENOENT, a symlink or a hard link where a file of the lock
 * should be, the directory replaced while locking).
 */
export function lockDataDirectory(dir: string, identity: { pod: string; pid?: number }): DataDirLock {
  const file = path.join(dir, LOCK_FILE_NAME);
  let dirIdentity: FileIdentity;
  try {
    const stat = statSync(dir);
    dirIdentity = { dev: stat.dev, ino: stat.ino };
  } catch (error) {
    throw new LockFileError(dir, `cannot be read (${(error as Error).message})`, errno(error), { cause: error });
  }
  // Create it ourselves first: SQLite reports EACCES, EROFS and ENOENT all as "unable to open database file", and
  // on a read-only volume it would quietly open the file read-only. This fd is closed before SQLite locks anything
  // (closing an fd drops this process's POSIX locks on the file, so it must not outlive the lock's taking).
  const created = openOwnFile(file);
  closeSync(created.fd);
  let db: DatabaseSync;
  try {
    db = tryLock(file);
  } catch (error) {
    if (error instanceof LockFileError) throw error;
    if (sqliteCode(error) === SQLITE_BUSY) throw new DataDirLockedError(dir, readHolder(dir));
    if (sqliteCode(error) !== SQLITE_NOTADB && sqliteCode(error) !== SQLITE_CORRUPT) throw new LockFileError(file, `cannot be locked (${(error as Error).message})`, 'ELOCK', { cause: error });
    // Its content is not SQLite's (damaged, or written by someone else): it holds no data, so empty it in place and
    // lock again. Nobody holds the lock now (SQLite read the content under a shared lock, which an exclusive holder
    // would have refused); one that takes it in between loses nothing by the truncation, and we then get BUSY.
    const reset = openOwnFile(file);
    try {
      if (!sameFile(reset.identity, created.identity)) throw new LockFileError(file, 'was replaced while being locked', 'EREPLACED');
      ftruncateSync(reset.fd, 0);
    } finally {
      closeSync(reset.fd);
    }
    try {
      db = tryLock(file);
    } catch (again) {
      if (sqliteCode(again) === SQLITE_BUSY) throw new DataDirLockedError(dir, readHolder(dir));
      throw new LockFileError(file, `cannot be locked, even emptied (${(again as Error).message})`, 'ELOCK', { cause: again });
    }
  }
  held.add(db);
  const release = () => {
    if (held.delete(db)) db.close();
  };
  try {
    // SQLite opened the file by name, and it follows symlinks: the name must still be the file created above, and
    // the directory the one whose identity was taken, or the lock is on something else.
    let locked: FileIdentity;
    let now: FileIdentity;
    try {
      const stat = lstatSync(file);
      locked = stat.isFile() ? { dev: stat.dev, ino: stat.ino } : { dev: -1, ino: -1 };
      const dirStat = statSync(dir);
      now = { dev: dirStat.dev, ino: dirStat.ino };
    } catch (error) {
      throw new LockFileError(file, `vanished while being locked (${(error as Error).message})`, errno(error), { cause: error });
    }
    if (!sameFile(locked, created.identity)) throw new LockFileError(file, 'was replaced while being locked', 'EREPLACED');
    if (!sameFile(now, dirIdentity)) throw new LockFileError(dir, 'was replaced while being locked', 'EREPLACED');
    writeHolder(path.join(dir, HOLDER_FILE_NAME), { pid: identity.pid ?? process.pid, pod: identity.pod, since: new Date().toISOString() });
  } catch (error) {
    release();
    throw error;
  }
  return { dir, identity: dirIdentity, release };
}

/** Rewrites the holder file in place: never through a symlink, never into a file with another link. */
function writeHolder(file: string, holder: Holder): void {
  const { fd } = openOwnFile(file);
  try {
    const bytes = Buffer.from(`${JSON.stringify(holder)}\n`);
    ftruncateSync(fd, 0);
    let offset = 0;
    while (offset < bytes.length) {
      const written = writeSync(fd, bytes, offset, bytes.length - offset, offset);
      if (written <= 0) throw new Error(`short write: ${offset} of ${bytes.length} bytes`);
      offset += written;
    }
  } catch (error) {
    throw new LockFileError(file, `cannot be written (${(error as Error).message})`, errno(error), { cause: error });
  } finally {
    closeSync(fd);
  }
}
