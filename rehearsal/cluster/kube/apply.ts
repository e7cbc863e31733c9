// How a run on a real cluster applies the overlay: as `kubectl apply --server-side` of the whole rendered overlay,
// after deleting the hook Jobs of the last apply (what scripts/cluster/apply-plain.sh does): a Job's pod template
// cannot change, and the hooks run again for each release, as a sync would run them.
import { stringify } from 'yaml';
import type { K8sObject } from '../../../bundle/types.ts';
import type { KubeConnection } from './connection.ts';

export async function applyOverlay(kube: KubeConnection, ns: string, objects: readonly K8sObject[], what: string): Promise<void> {
  const del = await kube.kubectl(['-n', ns, 'delete', 'jobs', '-l', 'app.kubernetes.io/part-of=rollcall', '--ignore-not-found', '--wait=true']);
  if (del.code !== 0 && !/not found/i.test(del.stderr)) throw new Error(`kubectl delete jobs: ${del.stderr.trim()}`);
  const yaml = objects.map((o) => stringify(o)).join('---\n');
  const r = await kube.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=rollcall-compare', '-f', '-'], yaml);
  if (r.code !== 0) throw new Error(`kubectl apply --server-side (${what}): ${r.stderr.trim()}`);
}
