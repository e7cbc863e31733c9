// Runs a command to its end and hands back its exit code and everything it printed: what the Go builds and the
// pre-flight need from `go` (the output is small; nothing is streamed).
import { spawn } from 'node:child_process';

export interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCaptured(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Captured> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, stdout, stderr };
}
