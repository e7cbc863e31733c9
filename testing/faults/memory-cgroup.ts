// A memory cgroup for one server process, so a scenario runs it under the StatefulSet's limit (256 MiB) with the
// kernel's OOM killer as the judge, and the server reads its limit from the cgroup as it would in a pod. cgroup v2
// (memory.max) when the memory controller can be delegated below ours, else cgroup v1 (memory.limit_in_bytes).
import fs from 'node:fs';
import path from 'node:path';

export class MemoryCgroup {
  readonly dir: string;
  readonly version: 1 | 2;

  private constructor(dir: string, version: 1 | 2) {
    this.dir = dir;
    this.version = version;
  }

  /** Creates a child of this process's cgroup with `bytes` of memory and no swap; throws with the reason when it cannot. */
  static create(name: string, bytes: number): MemoryCgroup {
    const lines = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    const v1 = lines.map((l) => l.split(':', 3)).find(([, controllers]) => controllers?.split(',').includes('memory'));
    const v2 = lines.map((l) => l.split(':', 3)).find(([, controllers]) => controllers === '');
    const errors: string[] = [];
    if (v2?.[2] !== undefined) {
      const parent = path.join('/sys/fs/cgroup', v2[2]);
      try {
        if (!fs.readFileSync(path.join(parent, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory')) throw new Error(`memory controller not enabled in ${parent}/cgroup.subtree_control`);
        const dir = path.join(parent, name);
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'memory.max'), String(bytes));
        try {
          fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0');
        } catch {
          // no swap accounting: nothing to limit
        }
        return new MemoryCgroup(dir, 2);
      } catch (error) {
        errors.push(`v2: ${(error as Error).message}`);
      }
    }
    if (v1?.[2] !== undefined) {
      const dir = path.join('/sys/fs/cgroup/memory', v1[2], name);
      try {
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(bytes));
        try {
          fs.writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(bytes));
        } catch {
          fs.writeFileSync(path.join(dir, 'memory.swappiness'), '0');
        }
        return new MemoryCgroup(dir, 1);
      } catch (error) {
        errors.push(`v1: ${(error as Error).message}`);
      }
    }
    throw new Error(`cannot create a memory cgroup (${errors.join('; ') || 'no memory controller in /proc/self/cgroup'})`);
  }

  /** Put in front of node: the shell joins the cgroup, then becomes node. */
  get prefix(): string[] {
    return ['sh', '-c', `echo $$ > '${path.join(this.dir, 'cgroup.procs')}' && exec "$@"`, 'sh'];
  }

  /** Processes the kernel's OOM killer killed in this cgroup. */
  oomKills(): number {
    const file = this.version === 2 ? 'memory.events' : 'memory.oom_control';
    const match = /oom_kill (\d+)/.exec(fs.readFileSync(path.join(this.dir, file), 'utf8'));
    return match ? Number(match[1]) : 0;
  }

  /** The most memory the cgroup held, in bytes (v2 without memory.peak: the current figure). */
  peakBytes(): number {
    for (const file of this.version === 2 ? ['memory.peak', 'memory.current'] : ['memory.max_usage_in_bytes']) {
      try {
        return Number(fs.readFileSync(path.join(this.dir, file), 'utf8').trim());
      } catch {
        // try the next
      }
    }
    return 0;
  }

  /** Removes the cgroup once its processes have exited. */
  remove(): void {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        fs.rmdirSync(this.dir);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
    }
  }
}

/** Why a memory cgroup cannot be made here, or undefined when it can. */
export function canUseMemoryCgroups(): string | undefined {
  try {
    MemoryCgroup.create(`rollcall-faults-check-${process.pid}`, 64 * 1024 * 1024).remove();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
