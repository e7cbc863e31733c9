// A container as a process: started in its pod's network namespace as the pod's user, its output appended to a log
// file, recorded in a pid file; stopped as the kubelet stops a container (SIGTERM to everything it started, SIGKILL
// after the grace period: pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContainerPlan } from './container-plan.ts';

export interface ContainerProcess {
  child: ChildProcess;
  /** RFC 3339, seconds: the container's state.running.startedAt. */
  startedAt: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** iproute2's `ip` by path: the container's PATH (its env) is what spawn searches, and it has no sbin directory. */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';

export const rfc3339 = (d = new Date()): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * `ip netns exec` puts the process in the pod's network namespace and a mount namespace of its own, where the pod's
 * /etc files (resolv.conf, hosts: pod-network.ts writePodEtcFiles) are mounted over the machine's; setpriv drops to
 * the pod's user, group and groups with an empty capability bounding set (and no_new_privs when
 * allowPrivilegeEscalation is false), then execs node. Neither forks (ip only does in batch mode): one pid
 * throughout. `detached`: the container is its own process group, so a signal reaches everything it started.
 */
export function startContainerProcess(plan: ContainerPlan, netns: string, logFile: string, pidFile: string, onError: (err: Error) => void): ContainerProcess {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, 'a');
  const args = [
    'netns',
    'exec',
    netns,
    'setpriv',
    `--reuid=${plan.uid}`,
    `--regid=${plan.gid}`,
    plan.groups.length > 0 ? `--groups=${plan.groups.join(',')}` : '--clear-groups',
    '--bounding-set=-all',
    ...(plan.noNewPrivs ? ['--no-new-privs'] : []),
    '--',
    ...plan.argv,
  ];
  const child = spawn(IP, args, { cwd: plan.cwd, env: plan.env, detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  // The agent's record of its processes: a restarted agent kills what its previous run left (agent.ts).
  if (child.pid !== undefined) {
    mkdirSync(path.dirname(pidFile), { recursive: true });
    writeFileSync(pidFile, String(child.pid));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      rmSync(pidFile, { force: true });
      resolve({ code, signal });
    });
    child.on('error', (err) => {
      onError(err);
      resolve({ code: 128, signal: null });
    });
  });
  return { child, startedAt: rfc3339(), exited };
}

/** SIGTERM to the container's process group, SIGKILL after `graceSeconds`; resolves when it has exited. */
export async function stopContainerProcess(proc: ContainerProcess, graceSeconds: number): Promise<void> {
  const pid = proc.child.pid;
  const signalGroup = (sig: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), Math.max(0, graceSeconds) * 1000);
  await proc.exited;
  clearTimeout(timer);
  // Whatever the container left behind in its group goes too.
  signalGroup('SIGKILL');
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** The exit code a container runtime reports: the process's own, or 128 + the signal that ended it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): { exitCode: number; signal?: number } {
  if (code !== null) return { exitCode: code };
  const n = signal ? (SIGNALS[signal] ?? 9) : 9;
  return { exitCode: 128 + n, signal: n };
}

/** A sleep that `wake()` ends early (termination must not wait out a back-off). */
export class Sleeper {
  #wake: (() => void) | undefined;
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
  wake(): void {
    this.#wake?.();
  }
}
