// How long a pod takes from its creation to its container running: the scheduler binds it to a node, the volume of a
// WaitForFirstConsumer claim is provisioned and bound, the kubelet sets up the sandbox and starts the container (and
// on a cluster that pulls images, the pull). The model had none: a pod's process started the instant the controller
// created it, which made every OrderedReady launch and rollout shorter than on a cluster by this much per pod.
// It is a parameter of the rehearsal (`rollcall compare --pod-start S`) in cluster time, scaled like the manifests'
// timings. Its default is what the real control plane on these machines measured (npm run fidelity: docs/fidelity.json,
// real.podStartMs, the median over every pod of every run; test/fidelity.test.ts holds the two together). A cluster
// that pulls images takes longer: measure yours with `rollcall compare --cluster context=NAME` (figures.podStartMs).
// Process start-up itself is not in it: the model runs a real process, whose start-up is real time.
// The AnalysisRun's clock (analysis-run.ts) runs through this latency, as the real analysis controller's does: it is
// cluster time like the analysis interval. Only the process start-up is left out of that clock, because it is real
// time and would be stretched by 1 / --time-scale when read as cluster time.

/** Median pod start latency measured on the local control plane (Kubernetes v1.37.2, node agent), ms. */
export const POD_START_LATENCY_MS = 700;

export function median(samples: readonly number[]): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
