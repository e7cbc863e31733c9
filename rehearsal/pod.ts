// A "pod" of the rehearsal: one real server process (`node src/server.ts`) on 127.0.0.1, with its own data
// directory that outlives the process, as a PersistentVolumeClaim outlives the pod that mounts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceNodeFlags } from '../scripts/lib/service-command.ts';
import { followServerLog } from '../scripts/lib/server-log.ts';

const SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/server.ts');

export class Pod {
  readonly name: string;
  readonly version: string;
  url = '';
  readonly #child: ChildProcess;
  readonly exited: Promise<number | string>;
  /** Every pod process still running, so an interrupted rehearsal can end them all. */
  static readonly live = new Set<Pod>();

  private constructor(name: string, version: string, child: ChildProcess) {
    this.name = name;
    this.version = version;
    this.#child = child;
    this.exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
    Pod.live.add(this);
    void this.exited.then(() => Pod.live.delete(this));
  }

  /** Starts the server and resolves once it listens (not yet Ready: the prober decides that). */
  static async start(options: { name: string; version: string; dataDir: string; env: Record<string, string> }): Promise<Pod> {
    const child = spawn(process.execPath, [...serviceNodeFlags(), SERVER], {
      env: {
        PATH: process.env['PATH'] ?? '',
        ...options.env,
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: options.dataDir,
        POD_NAME: options.name,
        APP_VERSION: options.version,
        // Info, because the `listening` line carries the port; at this level the server logs only a few lines.
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pod = new Pod(options.name, options.version, child);
    const { listening } = followServerLog(child.stdout!);
    const port = await Promise.race([
      listening,
      pod.exited.then((code) => Promise.reject(new Error(`${options.name} exited (${code}) before listening`))),
    ]);
    pod.url = `http://127.0.0.1:${port}`;
    return pod;
  }

  /** Like the kubelet: SIGTERM, then SIGKILL after the grace period. Resolves with the exit code. */
  async terminate(graceMs: number): Promise<number | string> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.exited;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
