// Which directories the server may keep its files in. Checked at start-up, before anything in DATA_DIR is created:
// - Not a system directory. As root, `DATA_DIR=/etc` would get `visits.json`, the lock and its holder file written
//   among the system's own files; nothing good comes of it, so the path is refused whoever runs the server.
// - Not one another user controls. In a directory another user may write to (or owns, and so may chmod), that user
//   can plant a symlink where the server creates a file, replace `visits.json` under it, or claim the names it is
//   about to create. Such a directory is refused, except the one shape made for sharing: sticky (others may not
//   rename or remove our files, `man 7 inode`, S_ISVTX) and owned by this process's user. Group write is allowed when
//   the group is one of ours: Kubernetes' fsGroup makes the volume group-writable for exactly the pod's group.
// Pure functions of a path or a stat, so tests pass their own; src/service/main.ts does the system calls.
import { realpathSync } from 'node:fs';
import path from 'node:path';

/** Directories whose whole tree belongs to the system (FHS 3.0; `man 7 hier`). */
const SYSTEM_TREES = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/sbin', '/sys', '/usr'];
/** Directories that hold other things' directories: a subdirectory is fine, the directory itself is not. */
const SYSTEM_ROOTS = ['/', '/home', '/media', '/mnt', '/opt', '/root', '/run', '/srv', '/tmp', '/var', '/var/lib', '/var/tmp', '/var/run'];

/** Why `resolved` (an absolute path, symlinks resolved) must not be a data directory, or undefined when it may. */
export function systemDirectoryProblem(resolved: string): string | undefined {
  const normal = path.posix.normalize(resolved);
  const tree = SYSTEM_TREES.find((root) => normal === root || normal.startsWith(`${root}/`));
  if (tree) return `${normal} is ${tree === normal ? 'a system directory' : `inside the system directory ${tree}`}; choose a directory of its own for the counter`;
  if (SYSTEM_ROOTS.includes(normal)) return `${normal} is a system directory, not one of its own; choose a directory of its own for the counter (e.g. ${path.posix.join(normal, 'rollcall')})`;
  return undefined;
}

/**
 * `dir` with every symlink resolved, also when its last components do not exist yet (they will be created): the
 * longest existing prefix is resolved and the rest appended. So `DATA_DIR=/data/x` with `/data -> /etc` is `/etc/x`.
 */
export function resolveDataDirectory(dir: string, realpath: (p: string) => string = realpathSync): string {
  const absolute = path.resolve(dir);
  const rest: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      return path.join(realpath(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return absolute;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

export interface DirectoryOwnership {
  uid: number;
  gid: number;
  mode: number;
}

export interface Identity {
  uid: number;
  /** The effective gid and the supplementary groups. */
  gids: readonly number[];
}

const S_ISVTX = 0o1000;

/** Why another user could write into a directory (its stat given), or undefined when only we (or root) can. */
export function foreignWriterProblem(stat: DirectoryOwnership, me: Identity): string | undefined {
  const mode = `mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')}`;
  const ours = stat.uid === me.uid;
  if (!ours && stat.uid !== 0) return `belongs to uid ${stat.uid}, not to this process (uid ${me.uid}) or root, so that user controls what is in it`;
  if (stat.mode & 0o002) {
    if (stat.mode & S_ISVTX && ours) return undefined;
    return `is writable by every user (${mode}${stat.mode & S_ISVTX ? ', sticky but not ours' : ''}); remove other users' write permission (chmod o-w)`;
  }
  if (stat.mode & 0o020 && !me.gids.includes(stat.gid)) return `is writable by group ${stat.gid}, which this process is not in (${mode}); remove the group's write permission (chmod g-w)`;
  return undefined;
}
