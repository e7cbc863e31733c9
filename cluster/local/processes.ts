// The components run as daemons: detached from the command that started them (so `up` can return), their output
// appended to one log file each, known by PID. A PID alone could be reused by another program after a reboot or a
// long time, so each is recorded with its start time (/proc/<pid>/stat field 22) and signalled only while both match.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessRecord {
  component: string;
  pid: number;
  /** Clock ticks since boot at which the process started (proc(5), /proc/<pid>/stat field 22). */
  startTime: number;
  log: string;
}

/** The start time of `pid`, or undefined when no such process runs (exited or a zombie waiting to be reaped). */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) is in parentheses and may hold spaces: the fields after it start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** Whether the recorded process still runs (the same process: same PID and start time). */
export function isRunning(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  return processStartTime(record.pid) === record.startTime;
}

/** Starts `argv` detached with stdout and stderr appended to `log`. */
export function startDaemon(component: string, argv: string[], log: string): ProcessRecord {
  const fd = openSync(log, 'a');
  try {
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`${component}: could not start ${command}`);
    child.on('error', () => {});
    child.unref();
    const startTime = processStartTime(child.pid);
    if (startTime === undefined) throw new Error(`${component} exited at once: see ${log}`);
    return { component, pid: child.pid, startTime, log };
  } finally {
    closeSync(fd);
  }
}

/**
 * Stops the recorded process: SIGTERM, then SIGKILL after `graceMs`, and waits until it is gone. Nothing happens when
 * the PID now belongs to another process. Resolves to how it ended.
 */
export async function stopProcess(record: ProcessRecord, graceMs = 10_000): Promise<'not running' | 'terminated' | 'killed'> {
  if (!isRunning(record)) return 'not running';
  const signal = (name: NodeJS.Signals) => {
    try {
      if (isRunning(record)) process.kill(record.pid, name);
    } catch {}
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record)) return 'terminated';
    await sleep(50);
  }
  signal('SIGKILL');
  for (let i = 0; i < 100 && isRunning(record); i++) await sleep(50);
  if (isRunning(record)) throw new Error(`${record.component} (pid ${record.pid}) survived SIGKILL`);
  return 'killed';
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
