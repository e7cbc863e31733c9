// A container of the rehearsal: one real server process (`node src/server.ts`) on 127.0.0.1, with its pod's data
// directory, which outlives the process as a PersistentVolumeClaim outlives the container that mounts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceNodeFlags } from '../../scripts/lib/service-command.ts';
import { checkContainer } from '../model/container-allowlist.ts';
import { followServerLog } from '../../scripts/lib/server-log.ts';

const SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/server.ts');

export class PodProcess {
  readonly name: string;
  readonly version: string;
  /** Empty until the server logged its port. */
  url = '';
  readonly #child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process ended. */
  readonly exited: Promise<number | string>;
  #exitCode: number | string | undefined;
  /** Every process still running, so an interrupted rehearsal can end them all. */
  static readonly live = new Set<PodProcess>();

  /** Starts the server; `url` is set once it listens. Does not wait: the kubelet model decides what happens next. */
  constructor(options: { name: string; version: string; dataDir: string; env: Record<string, string> }) {
    this.name = options.name;
    this.version = options.version;
    // Only what a manifest may set reaches the process (the plan was checked already; this holds for any caller).
    const allowed = checkContainer({ env: Object.entries(options.env).map(([name, value]) => ({ name, value })) });
    if (!allowed.ok) throw new Error(`pod ${options.name}: ${allowed.field}: ${allowed.reason}`);
    this.#child = spawn(process.execPath, [...serviceNodeFlags(), SERVER], {
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
      // stderr ignored: a bad release on purpose would fill the terminal with its own (expected) errors.
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.exited = once(this.#child, 'exit').then(([code, signal]) => (this.#exitCode = (code ?? signal) as number | string));
    PodProcess.live.add(this);
    void this.exited.then(() => PodProcess.live.delete(this));
    void followServerLog(this.#child.stdout!).listening.then((port) => {
      if (this.#exitCode === undefined) this.url = `http://127.0.0.1:${port}`;
    });
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  get exitCode(): number | string | undefined {
    return this.#exitCode;
  }

  /** Like the kubelet: SIGTERM, then SIGKILL after the grace period. Resolves with the exit code. */
  async terminate(graceMs: number): Promise<number | string> {
    if (!this.running) return this.exited;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.running) this.#child.kill('SIGKILL');
  }
}
