// Shared machinery for the real-fault suite: start the real server process, talk to it over HTTP, generate load,
// read the state file strictly, and clean up every process and temp dir a scenario made. No mocks live here: the
// only test-only code that runs inside the server is the optional preload in fixtures/inject-faults.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { followServerLog, type LogLine } from '../../scripts/lib/server-log.ts';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const SERVER = path.join(REPO, 'src/server.ts');
export const FAULT_PRELOAD = path.join(import.meta.dirname, 'fixtures/inject-faults.ts');
export const GC_PRELOAD = path.join(import.meta.dirname, 'fixtures/gc-on-signal.ts');
export const STATE_FILE = 'visits.json';

export type { LogLine };
export type FaultEvent = Record<string, unknown> & { op: string };
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** `setpriv --pdeathsig KILL` in front of each server: if the suite itself dies, its servers die with it. */
const DIE_WITH_SUITE = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true']).status === 0 ? ['setpriv', '--pdeathsig', 'KILL'] : [];

// Every process any scenario starts, so nothing outlives the suite even if a scenario throws.
const children = new Set<ChildProcess>();

export function spawnTracked(command: string, args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** PIDs of started processes that have not exited yet. */
export function liveChildren(): number[] {
  return [...children].filter((c) => c.exitCode === null && c.signalCode === null && c.pid !== undefined).map((c) => c.pid as number);
}

export function killAllChildren(): void {
  for (const pid of liveChildren()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface LaunchOptions {
  dataDir: string;
  env?: Record<string, string>;
  /** Runs in front of node, e.g. ['nsenter', '--mount=/proc/N/ns/mnt', '--'] or ['setpriv', '--reuid=65534', ...]. */
  prefix?: string[];
  nodeArgs?: string[];
  /** The node binary (default: this one). */
  node?: string;
  /** The server entry (default: this checkout's src/server.ts); its app root is two levels up. */
  server?: string;
}

/** One real `node src/server.ts` process (possibly behind a wrapper such as strace, nsenter or setpriv). */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logs: LogLine[];
  readonly rawStdout: string[] = [];
  readonly events: FaultEvent[] = [];
  stderr = '';
  port = 0;
  exit: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;
  readonly started = performance.now();
  readonly #listening: Promise<void>;

  constructor(options: LaunchOptions) {
    const node = options.node ?? process.execPath;
    const server = options.server ?? SERVER;
    const argv = [...DIE_WITH_SUITE, ...(options.prefix ?? []), node, ...(options.nodeArgs ?? []), server];
    const [command, ...args] = argv as [string, ...string[]];
    this.child = spawnTracked(command, args, {
      cwd: path.dirname(path.dirname(server)),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: options.dataDir,
        POD_NAME: 'faults',
        LOG_LEVEL: 'info',
        SHUTDOWN_DRAIN_MS: '0',
        SHUTDOWN_TIMEOUT_MS: '5000',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`cannot spawn ${command}`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: performance.now() };
        resolve(this.exit);
      });
    });
    const stderr = readline.createInterface({ input: this.child.stderr! });
    stderr.on('line', (line) => {
      if (line.startsWith('FAULT-EVENT ')) this.events.push(JSON.parse(line.slice('FAULT-EVENT '.length)) as FaultEvent);
      else this.stderr += `${line}\n`;
    });
    const log = followServerLog(this.child.stdout!, (raw) => this.rawStdout.push(raw));
    this.logs = log.logs;
    this.#listening = Promise.race([
      log.listening.then((port) => {
        this.port = port;
      }),
      this.exited.then((info) =>
        Promise.reject(new Error(`server exited (code ${info.code}, signal ${info.signal}) before listening: ${this.describeOutput()}`)),
      ),
    ]);
    this.#listening.catch(() => {});
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  describeOutput(): string {
    return [...this.rawStdout.slice(-5), this.stderr.trim().slice(-500)].filter(Boolean).join(' | ');
  }

  async listening(timeoutMs = 15_000): Promise<void> {
    await withTimeout(this.#listening, timeoutMs, `server did not log "listening" within ${timeoutMs} ms`);
  }

  signal(signal: NodeJS.Signals, pid = this.pid): void {
    if (!this.alive) return;
    try {
      process.kill(pid, signal);
    } catch {
      // exited in between
    }
  }

  async kill(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 8_000): Promise<ExitInfo> {
    this.signal('SIGTERM');
    const info = await Promise.race([this.exited, sleep(graceMs).then(() => undefined)]);
    return info ?? this.kill();
  }

  /** The node process itself: the spawned pid, or its first descendant named node when behind strace. */
  nodePid(): number {
    let pid = this.pid;
    for (let depth = 0; depth < 4; depth++) {
      const comm = readOr(`/proc/${pid}/comm`, '').trim();
      if (comm === 'node' || comm === 'MainThread') return pid;
      const kids = readOr(`/proc/${pid}/task/${pid}/children`, '').trim().split(/\s+/).filter(Boolean);
      if (kids.length === 0) return pid;
      pid = Number(kids[0]);
    }
    return pid;
  }

  /** Log lines at error (50) or fatal (60). */
  errorLines(): LogLine[] {
    return this.logs.filter((l) => (l.level ?? 0) >= 50);
  }
}

export async function startServer(options: LaunchOptions): Promise<ServerProcess> {
  const server = new ServerProcess(options);
  try {
    await server.listening();
  } catch (error) {
    await server.kill();
    throw error;
  }
  return server;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

export function request(url: string, options: RequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers };
    // Node's client sends a GET body with neither Content-Length nor chunked encoding unless told.
    if (options.body !== undefined && headers['Content-Length'] === undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent: options.agent ?? false });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(options.body);
  });
}

export async function getJson(url: string, agent: http.Agent | false = false): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(url, { headers: { Accept: 'application/json' }, agent });
  return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
}

/** One visit: the number it was acknowledged with, or the status and error code it was refused with. */
export async function visit(base: string, agent: http.Agent | false = false): Promise<{ status: number; visit?: number; code?: string }> {
  const { status, json } = await getJson(`${base}/`, agent);
  if (status === 200 && typeof json.visit === 'number') return { status, visit: json.visit };
  return typeof json.code === 'string' ? { status, code: json.code } : { status };
}

export async function readyStatus(base: string): Promise<number> {
  return (await request(`${base}/readyz`)).status;
}

export async function visitsCounter(base: string): Promise<number> {
  const { json } = await getJson(`${base}/visits`);
  return Number(json.counter);
}

// ---------------------------------------------------------------------------------------------------------------
// Load

export interface LoadResult {
  /** Requests written to a socket (ECONNREFUSED excluded: those never reached a server). */
  sent: number;
  ok: number;
  unavailable: number;
  otherStatus: Record<string, number>;
  errors: Record<string, number>;
  /** Responses whose headers arrived but whose body did not complete. */
  cut: number;
  /** Visit numbers from complete 200 responses. */
  acked: number[];
}

export interface Load {
  readonly result: LoadResult;
  stop(): Promise<LoadResult>;
}

/** `clients` loops hammering GET / with Accept: application/json until stopped. */
export function startLoad(base: () => string, options: { clients: number; agent?: http.Agent; path?: string }): Load {
  const agent = options.agent ?? new http.Agent({ keepAlive: true, maxSockets: options.clients });
  const result: LoadResult = { sent: 0, ok: 0, unavailable: 0, otherStatus: {}, errors: {}, cut: 0, acked: [] };
  let stopped = false;
  const one = () =>
    new Promise<void>((resolve) => {
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      const req = http.request(`${base()}${options.path ?? '/'}`, { headers: { Accept: 'application/json' }, agent });
      req.setTimeout(15_000, () => req.destroy(new Error('client timeout')));
      req.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? error.message;
        result.errors[code] = (result.errors[code] ?? 0) + 1;
        if (code !== 'ECONNREFUSED') result.sent++;
        done();
      });
      req.on('response', (res) => {
        result.sent++;
        const chunks: Buffer[] = [];
        let complete = false;
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          complete = true;
          const status = res.statusCode ?? 0;
          if (status === 200) {
            let number: unknown;
            try {
              number = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { visit?: unknown }).visit;
            } catch {
              number = undefined;
            }
            if (typeof number === 'number') {
              result.ok++;
              result.acked.push(number);
            } else result.cut++;
          } else if (status === 503) result.unavailable++;
          else result.otherStatus[status] = (result.otherStatus[status] ?? 0) + 1;
          done();
        });
        res.on('close', () => {
          if (!complete) {
            result.cut++;
            done();
          }
        });
        res.on('error', () => {});
      });
      req.end();
    });
  const loops = Array.from({ length: options.clients }, async () => {
    while (!stopped) {
      const before = result.sent;
      await one();
      // Do not spin on a server that is down or refusing.
      if (result.sent === before) await sleep(5);
    }
  });
  return {
    result,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      if (options.agent === undefined) agent.destroy();
      return result;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// State file and directory

const EXACT_FORMAT = /^\{"counter": (0|[1-9][0-9]*)\}$/;

/** Reads visits.json and insists on the exact format `{"counter": N}`; anything else is a corrupt file. */
export function readState(file: string): { counter: number } | { problem: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    return { problem: `cannot read: ${(error as Error).message}` };
  }
  const match = EXACT_FORMAT.exec(text);
  const counter = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(counter)) return { problem: `not {"counter": N}: ${JSON.stringify(text.slice(0, 80))}` };
  return { counter };
}

export function tempFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.startsWith(`${STATE_FILE}.`) && name.endsWith('.tmp'));
}

/** Temp files that stay across two listings `gapMs` apart: the recovery probe makes a fresh, short-lived one each second. */
export async function lingeringTempFiles(dir: string, gapMs = 1_300): Promise<string[]> {
  const first = new Set(tempFiles(dir));
  await sleep(gapMs);
  return tempFiles(dir).filter((name) => first.has(name));
}

export function tempDir(tag: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rollcall-faults-${tag}-`));
  return dir;
}

export function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readOr(`/proc/${pid}/status`, ''));
  return match ? Number(match[1]) : 0;
}

export function openFds(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small utilities

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it returns true; returns the ms it took, or undefined on timeout. */
export async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      if (await probe()) return Math.round(performance.now() - started);
    } catch {
      // not yet
    }
    await sleep(intervalMs);
  }
  return undefined;
}

/** Runs a command to completion; never throws for a non-zero exit. */
export function run(command: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawnTracked(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(options.input);
    }
  });
}

export async function commandExists(name: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${name}`])).code === 0;
}

/** Checks acknowledgements against a counter read from the file: acked numbers above it are lost. */
export function countLost(acked: Iterable<number>, counter: number): number {
  let lost = 0;
  for (const n of acked) if (n > counter) lost++;
  return lost;
}

export function duplicates(numbers: number[]): number {
  return numbers.length - new Set(numbers).size;
}

/** Numbers missing from 1..max (gaps in the acknowledged sequence). */
export function gaps(numbers: number[], from = 1): number {
  if (numbers.length === 0) return 0;
  const seen = new Set(numbers);
  let max = 0;
  for (const n of numbers) if (n > max) max = n;
  let missing = 0;
  for (let n = from; n <= max; n++) if (!seen.has(n)) missing++;
  return missing;
}

export function maxOf(numbers: number[]): number {
  let max = 0;
  for (const n of numbers) if (n > max) max = n;
  return max;
}

export function summariseErrors(result: LoadResult): string {
  const parts = Object.entries(result.errors).map(([code, n]) => `${code}×${n}`);
  const statuses = Object.entries(result.otherStatus).map(([status, n]) => `${status}×${n}`);
  return [...parts, ...statuses].join(', ') || 'none';
}
