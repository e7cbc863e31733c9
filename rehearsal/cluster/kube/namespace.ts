// The namespace a run on a real cluster owns: made by the run (labelled MANAGED_BY), refused when it exists and was
// not made by rollcall compare, and deleted at the end with everything the run created in it.
import type { KubeConnection } from './connection.ts';
import { MANAGED_BY } from './manifests.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Refuses `ns` if it exists and rollcall did not make it; removes it if an interrupted run left it. */
export async function claimNamespace(kube: KubeConnection, ns: string): Promise<void> {
  const found = await kube.find<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/namespaces/${ns}`);
  if (!found) return;
  if (found.metadata.labels?.[MANAGED_BY.key] !== MANAGED_BY.value) {
    throw new Error(`namespace ${ns} exists and was not made by rollcall compare (no label ${MANAGED_BY.key}=${MANAGED_BY.value}): refusing to touch it; remove it yourself or use another cluster`);
  }
  await deleteNamespace(kube, ns);
}

/** Deletes `ns` and waits until it is gone (its finalizers remove every object in it first). */
export async function deleteNamespace(kube: KubeConnection, ns: string): Promise<void> {
  await kube.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  const deadline = Date.now() + 300_000;
  while (await kube.find(`/api/v1/namespaces/${ns}`)) {
    if (Date.now() > deadline) throw new Error(`namespace ${ns} was not gone within 300 s`);
    await sleep(500);
  }
}
