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
import { closeSync, constants, openSync, readFileSync, writeFileSync } from 'node:fs';
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

export interface DataDirLock {
  readonly dir: string;
  /** Releases the lock (also released by the kernel when the process exits). */
  release(): void;
}

/** Connections held open for the process lifetime: a collected DatabaseSync would close and drop the lock. */
const held = new Set<DatabaseSync>();

/** SQLITE_BUSY: another connection holds the lock. */
const SQLITE_BUSY = 5;

function readHolder(dir: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path.join(dir, HOLDER_FILE_NAME), 'utf8')) as Partial<Holder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.pod !== 'string' || typeof parsed.since !== 'string') return undefined;
    return { pid: parsed.pid, pod: parsed.pod, since: parsed.since };
  } catch {
    return undefined;
  }
}

/**
 * Takes the data directory's lock without waiting. Throws DataDirLockedError when another process holds it, or the
 * file-system error (EACCES, EROFS, ENOENT, ...) when the lock file cannot be created.
 */
export function lockDataDirectory(dir: string, identity: { pod: string; pid?: number }): DataDirLock {
  const file = path.join(dir, LOCK_FILE_NAME);
  // Create it ourselves first: SQLite reports EACCES, EROFS and ENOENT all as "unable to open database file", and
  // on a read-only volume it would quietly open the file read-only. This fd is closed before SQLite locks anything
  // (closing an fd drops this process's POSIX locks on the file, so it must not outlive the lock's taking).
  try {
    closeSync(openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644));
  } catch (error) {
    throw asFileSystemError(error, file);
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout: 0 });
  } catch (error) {
    throw asFileSystemError(error, file);
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
    if ((error as { errcode?: number }).errcode === SQLITE_BUSY) throw new DataDirLockedError(dir, readHolder(dir));
    throw asFileSystemError(error, file);
  }
  held.add(db);
  const holder: Holder = { pid: identity.pid ?? process.pid, pod: identity.pod, since: new Date().toISOString() };
  try {
    writeFileSync(path.join(dir, HOLDER_FILE_NAME), `${JSON.stringify(holder)}\n`);
  } catch (error) {
    held.delete(db);
    db.close();
    throw error;
  }
  return {
    dir,
    release() {
      if (!held.delete(db)) return;
      db.close();
    },
  };
}

function asFileSystemError(error: unknown, file: string): Error {
  const message = (error as Error).message;
  return Object.assign(new Error(`cannot lock ${file}: ${message}`, { cause: error }), { code: (error as { code?: string }).code ?? 'ELOCK' });
}
