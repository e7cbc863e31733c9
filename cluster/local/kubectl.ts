// `kubectl` as a child process: its arguments after the target's flags, `input` on stdin, and what it printed with its
// exit status (127 when kubectl is not installed). One runner for `compare --cluster` and the cluster suites.
import { spawn } from 'node:child_process';

export interface Kubectled {
  code: number;
  stdout: string;
  stderr: string;
}

/** The kubeconfig and context to use (kubectl's own defaults when absent). */
export interface KubectlTarget {
  kubeconfig?: string;
  context?: string;
}

export function kubectlFlags(target: KubectlTarget): string[] {
  return [...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []), ...(target.context ? ['--context', target.context] : [])];
}

export function runKubectl(target: KubectlTarget, args: readonly string[], input = ''): Promise<Kubectled> {
  return new Promise((resolve) => {
    const child = spawn('kubectl', [...kubectlFlags(target), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: error.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}
