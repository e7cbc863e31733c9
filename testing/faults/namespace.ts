// A private mount namespace that outlives server restarts. A small holder process (`unshare -m` + `sh`) mounts a
// tmpfs or a bind mount on a host directory and then waits on its stdin; servers join it with nsenter. The mount
// is invisible outside the namespace, so the test reaches the files through /proc/<holder>/root, which resolves
// paths in the holder's mount namespace, and runs mount commands there with nsenter. When the holder and every
// server in the namespace have exited, the kernel drops the namespace and its mounts: nothing to unmount.
import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { run, spawnTracked, withTimeout } from './harness.ts';

export class MountNamespace {
  readonly mountpoint: string;
  readonly #holder: ChildProcess;
  readonly pid: number;

  private constructor(mountpoint: string, holder: ChildProcess) {
    this.mountpoint = mountpoint;
    this.#holder = holder;
    this.pid = holder.pid as number;
  }

  /** Mounts a tmpfs of `size` (e.g. '1m') on `mountpoint` inside a new namespace. */
  static tmpfs(mountpoint: string, size: string): Promise<MountNamespace> {
    return MountNamespace.#create(mountpoint, `mount -t tmpfs -o size=${size},mode=0755 tmpfs '${mountpoint}'`);
  }

  /** Bind-mounts `mountpoint` on itself inside a new namespace, so it can be remounted read-only there alone. */
  static bind(mountpoint: string): Promise<MountNamespace> {
    return MountNamespace.#create(mountpoint, `mount --bind '${mountpoint}' '${mountpoint}'`);
  }

  static async #create(mountpoint: string, mountCommand: string): Promise<MountNamespace> {
    // `read` returns when the test closes stdin (or dies), so the holder never outlives the suite.
    const holder = spawnTracked('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${mountCommand} && echo ready && read _`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    holder.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      readline.createInterface({ input: holder.stdout! }).on('line', (line) => line === 'ready' && resolve());
      holder.once('exit', (code) => reject(new Error(`mount namespace setup failed (exit ${code}): ${stderr.trim()}`)));
    });
    await withTimeout(ready, 10_000, 'mount namespace setup timed out');
    return new MountNamespace(mountpoint, holder);
  }

  /** The host-side path of `file` as seen inside the namespace. */
  path(file: string): string {
    return `/proc/${this.pid}/root${file}`;
  }

  /** Put in front of a command to run it inside the namespace. */
  get prefix(): string[] {
    return ['nsenter', `--mount=/proc/${this.pid}/ns/mnt`, '--'];
  }

  async exec(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const [command, ...rest] = [...this.prefix, ...args] as [string, ...string[]];
    return run(command, rest);
  }

  /**
   * Bind-mounts the file `source` (outside the mount) onto `target` (a file inside it, created empty if missing), in
   * the namespace: a descriptor opened on `target` then belongs to that small mount, not to the one `remount` acts on.
   */
  async bindFile(source: string, target: string): Promise<void> {
    const result = await this.exec(['sh', '-c', `touch '${source}' '${target}' && mount --bind '${source}' '${target}'`]);
    if (result.code !== 0) throw new Error(`mount --bind ${source} ${target} failed: ${result.stderr.trim()}`);
  }

  /** Remounts the mount read-only or read-write. Retries EBUSY (a file open for writing at that instant). */
  async remount(mode: 'ro' | 'rw', bind: boolean): Promise<number> {
    const options = bind ? `remount,bind,${mode}` : `remount,${mode}`;
    for (let attempt = 1; attempt <= 200; attempt++) {
      const result = await this.exec(['mount', '-o', options, this.mountpoint]);
      if (result.code === 0) return attempt;
      if (!/busy/i.test(result.stderr)) throw new Error(`mount -o ${options} failed: ${result.stderr.trim()}`);
    }
    throw new Error(`mount -o ${options}: still busy after 200 attempts`);
  }

  async close(): Promise<void> {
    if (this.#holder.exitCode !== null || this.#holder.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#holder.once('exit', resolve));
    this.#holder.stdin!.end();
    await withTimeout(exited, 2_000, 'holder did not exit').catch(() => {
      process.kill(this.pid, 'SIGKILL');
      return exited;
    });
  }
}

/** Whether this machine lets us create mount namespaces and mount a tmpfs in them. */
export async function canUseMountNamespaces(): Promise<string | undefined> {
  const result = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt']);
  return result.code === 0 ? undefined : `unshare -m / mount tmpfs not permitted: ${result.stderr.trim()}`;
}
