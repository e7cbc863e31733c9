// The real cluster a command (`rollcall compare --cluster`, `npm run fidelity`) is using, and how it is given back on
// every way out: when the command ends, and on SIGINT or SIGTERM, where no pending `finally` runs. Closing it deletes
// the namespaces the run made and stops a control plane the run started (seam.ts RehearsalCluster.close).
import { PodProcess } from '../run/pod-process.ts';
import type { RehearsalCluster } from './seam.ts';

let inUse: RehearsalCluster | undefined;

export function useCluster(cluster: RehearsalCluster): RehearsalCluster {
  inUse = cluster;
  return cluster;
}

/** Closes the cluster in use, once (a second call, or one with none in use, does nothing). */
export async function releaseCluster(): Promise<void> {
  const cluster = inUse;
  inUse = undefined;
  await cluster?.close?.();
}

/** On SIGINT or SIGTERM: end the model's pod processes, give the cluster back, exit 130 or 143. process.exit runs the
 * 'exit' handlers, which remove the rehearsal's temp directories (rehearsal/run/temp-dirs.ts). */
export function releaseOnInterrupt(command: string): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      for (const pod of PodProcess.live) pod.kill();
      if (inUse) console.error(`${command}: interrupted: removing what the run created on the cluster`);
      void releaseCluster().finally(() => process.exit(code));
    });
  }
}
