// Starts the real server (`node src/server.ts`) as a child process on 127.0.0.1 and an OS-chosen port, and reads
// its JSON log lines. Tests stop it themselves; `after()` kills whatever is still running, by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const SERVER_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/server.ts');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

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
  const logs: LogLine[] = [];
  let resolveListening: (url: string) => void;
  let rejectListening: (error: Error) => void;
  const listening = new Promise<string>((resolve, reject) => {
    resolveListening = resolve;
    rejectListening = reject;
  });
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as LogLine;
        logs.push(entry);
        if (entry.msg === 'listening') resolveListening(`http://127.0.0.1:${entry.port as number}`);
      } catch {
        logs.push({ level: 0, msg: line });
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  listening.catch(() => {}); // callers that only wait for the exit do not care
  void exited.then((code) => rejectListening(new Error(`server exited (${code}) before listening: ${JSON.stringify(logs)}`)));
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
