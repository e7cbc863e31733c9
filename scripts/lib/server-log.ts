// Reading a running `node src/server.ts`: its stdout is pino JSON, one object per line, and the `listening` line
// carries the real port (the tests, the fault suite and `rollcall compare` all start it with PORT=0).
import readline from 'node:readline';
import type { Readable } from 'node:stream';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * Follows a server's stdout: every JSON line is pushed to `logs` (and passed to `onLine` with the raw text, also
 * for lines that are not JSON). `listening` resolves with the port; it never rejects: callers race it with exit.
 */
export function followServerLog(
  stdout: Readable,
  onLine: (raw: string, entry: LogLine | undefined) => void = () => {},
): { logs: LogLine[]; listening: Promise<number> } {
  const logs: LogLine[] = [];
  const listening = new Promise<number>((resolve) => {
    readline.createInterface({ input: stdout }).on('line', (raw) => {
      let entry: LogLine | undefined;
      try {
        entry = JSON.parse(raw) as LogLine;
      } catch {
        entry = undefined;
      }
      if (entry) logs.push(entry);
      onLine(raw, entry);
      if (entry?.msg === 'listening' && typeof entry['port'] === 'number') resolve(entry['port']);
    });
  });
  return { logs, listening };
}
