// Starts the real server (`node src/server.ts`) as a child process on 127.0.0.1 and an OS-chosen port, and reads
// its JSON log lines (scripts/lib/server-log.ts). Tests stop it themselves; `after()` kills whatever is still running, by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { followServerLog, type LogLine } from '../../scripts/lib/server-log.ts';

const SERVER_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/server.ts');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  logs: LogLine[];
  /** Resolves with the exit code (or the signal name) once the process ends. */
  exited: Promise<number | string>;
}

export function spawnServer(env: Record<string, string>): { child: ChildProcess; logs: LogLine[]; exited: Promise<number | string>; listening: Promise<string> } {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  // 'close', not 'exit': by then every line the process wrote has been read.
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  // Lines that are not pino JSON (a crash before the logger exists) are kept too, as level 0.
  const keepRaw = (raw: string, entry: LogLine | undefined) => {
    if (!entry && raw.trim()) logs.push({ level: 0, msg: raw });
  };
  const { logs, listening: port } = followServerLog(child.stdout!, keepRaw);
  readline.createInterface({ input: child.stderr! }).on('line', (raw) => keepRaw(raw, undefined));
  const listening = Promise.race([
    port.then((p) => `http://127.0.0.1:${p}`),
    exited.then((code) => Promise.reject(new Error(`server exited (${code}) before listening: ${JSON.stringify(logs)}`))),
  ]);
  listening.catch(() => {}); // callers that only wait for the exit do not care
  return { child, logs, exited, listening };
}

export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const { child, logs, exited, listening } = spawnServer(env);
  const url = await listening;
  return { child, url, logs, exited };
}

export async function visit(url: string): Promise<{ status: number; body: { visit?: number; error?: string } }> {
  const response = await fetch(`${url}/`, { headers: { accept: 'application/json' } });
  return { status: response.status, body: (await response.json()) as { visit?: number } };
}
