// How a run on a real cluster puts the overlay there: an `Applier`. Two:
//   serverSideApplier  `kubectl apply --server-side` of the whole rendered overlay, after deleting the hook Jobs of the
//                      last apply (what scripts/cluster/apply-plain.sh does): a Job's pod template cannot change, and
//                      the hooks run again for each release, as a sync would run them;
//   argocd.ts          a commit of the rendered overlay to a Git repository that a real Argo CD syncs (`--delivery
//                      argocd`), the hooks run by Argo CD.
// The StatefulSet under rehearsal and blue-green's pair apply through it and know nothing else of the difference.
import { stringify } from 'yaml';
import type { K8sObject } from '../../../bundle/types.ts';
import type { KubeConnection } from './connection.ts';

export interface Applier {
  /** In words, for the report: how a release reaches the cluster. */
  readonly name: string;
  /** Puts the overlay's `objects` into namespace `ns` (`what`: the release, for an error message). */
  apply(kube: KubeConnection, ns: string, objects: readonly K8sObject[], what: string): Promise<void>;
  /** Before the run deletes what the applier manages (a relaunch deletes the StatefulSet): nothing may put it back
   * until the next apply. */
  pause?(ns: string): Promise<void>;
  /** Before the run deletes namespace `ns`: stop managing it. */
  forget?(ns: string): Promise<void>;
}

export async function applyOverlay(kube: KubeConnection, ns: string, objects: readonly K8sObject[], what: string): Promise<void> {
  const del = await kube.kubectl(['-n', ns, 'delete', 'jobs', '-l', 'app.kubernetes.io/part-of=rollcall', '--ignore-not-found', '--wait=true']);
  if (del.code !== 0 && !/not found/i.test(del.stderr)) throw new Error(`kubectl delete jobs: ${del.stderr.trim()}`);
  const r = await kube.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=rollcall-compare', '-f', '-'], manifestsYaml(objects));
  if (r.code !== 0) throw new Error(`kubectl apply --server-side (${what}): ${r.stderr.trim()}`);
}

/** The objects as one multi-document YAML stream (what `kubectl apply -f` and a Git directory hold). */
export function manifestsYaml(objects: readonly K8sObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

export const serverSideApplier: Applier = { name: 'kubectl apply --server-side', apply: applyOverlay };
