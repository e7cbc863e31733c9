// Recreate for a StatefulSet: `node src/hooks/recreate-hook.ts`, the Sync-phase hook of kustomize/overlays/recreate
// (Sync, not PostSync, so it also runs when the set is unhealthy: that is how a revert replaces crash-looping pods).
// The StatefulSet there uses `updateStrategy: OnDelete`, so a sync only records a new status.updateRevision.
// This command then deletes, all at once, every pod of the set whose `controller-revision-hash` label is not that
// updateRevision, and waits until every replica is Ready on it (podManagementPolicy Parallel brings them back
// together). When no pod is stale it does nothing: a sync that changes nothing restarts nothing.
// Kubernetes 1.37 adds a native `updateStrategy.type: Recreate` (alpha, gate StatefulSetRecreateStrategy); this is
// the portable equivalent for older clusters.
// Env: RECREATE_STATEFULSET (rollcall), RECREATE_NAMESPACE (required), RECREATE_TIMEOUT_MS (300000, 0 = do not
// wait), RECREATE_INTERVAL_MS (2000), RECREATE_API_URL (optional: talk to this URL instead of the in-cluster API,
// e.g. `kubectl proxy` or a test stand-in; RECREATE_API_TOKEN optional bearer token for it).
// RBAC needed: get statefulsets/<name>; list and delete pods (kustomize/overlays/recreate/role.yaml).
import { fileURLToPath } from 'node:url';
import { inClusterClient, inClusterConfig, KubeError, selectorToQuery, urlClient, type KubeClient } from './k8s-client.ts';

export interface RecreateOptions {
  namespace: string;
  name: string;
  /** Wait this long for all replicas to be Ready on the new revision; 0 = return right after deleting. */
  timeoutMs: number;
  intervalMs: number;
  log?: (line: string) => void;
}

export interface RecreateResult {
  updateRevision: string;
  deleted: string[];
  /** Pods of the set that were already on updateRevision. */
  current: string[];
}

interface StatefulSetView {
  generation: number;
  observedGeneration: number;
  replicas: number;
  updateRevision: string | undefined;
  updatedReplicas: number;
  readyReplicas: number;
  selector: unknown;
  uid: string | undefined;
}

interface PodView {
  name: string;
  uid: string | undefined;
  hash: string | undefined;
  terminating: boolean;
  ownedBySet: boolean;
}

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function getStatefulSet(client: KubeClient, ns: string, name: string): Promise<StatefulSetView> {
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/statefulsets/${encodeURIComponent(name)}`;
  const res = await client.request('GET', path);
  if (res.status !== 200) throw new KubeError('GET', path, res);
  const o = res.body as { metadata?: Record<string, unknown>; spec?: Record<string, unknown>; status?: Record<string, unknown> };
  return {
    generation: num(o.metadata?.['generation']),
    observedGeneration: num(o.status?.['observedGeneration']),
    // spec.replicas defaults to 1 when omitted.
    replicas: num(o.spec?.['replicas'], 1),
    updateRevision: typeof o.status?.['updateRevision'] === 'string' ? (o.status['updateRevision'] as string) : undefined,
    updatedReplicas: num(o.status?.['updatedReplicas']),
    readyReplicas: num(o.status?.['readyReplicas']),
    selector: o.spec?.['selector'],
    uid: typeof o.metadata?.['uid'] === 'string' ? (o.metadata['uid'] as string) : undefined,
  };
}

async function listPods(client: KubeClient, ns: string, selector: unknown, set: StatefulSetView, name: string): Promise<PodView[]> {
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods?labelSelector=${encodeURIComponent(selectorToQuery(selector))}`;
  const res = await client.request('GET', path);
  if (res.status !== 200) throw new KubeError('GET', path, res);
  const items = (res.body as { items?: unknown[] }).items ?? [];
  return items.map((item) => {
    const meta = ((item as { metadata?: Record<string, unknown> }).metadata ?? {}) as {
      name?: string;
      uid?: string;
      labels?: Record<string, string>;
      deletionTimestamp?: string;
      ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
    };
    const owner = (meta.ownerReferences ?? []).find((r) => r.controller === true);
    return {
      name: meta.name ?? '',
      uid: meta.uid,
      hash: meta.labels?.['controller-revision-hash'],
      terminating: typeof meta.deletionTimestamp === 'string',
      ownedBySet: owner?.kind === 'StatefulSet' && owner.name === name && (set.uid === undefined || owner.uid === undefined || owner.uid === set.uid),
    };
  });
}

async function deletePod(client: KubeClient, ns: string, pod: PodView): Promise<'deleted' | 'gone'> {
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod.name)}`;
  // The uid precondition makes sure we delete the pod we looked at, never a replacement with the same name.
  const body = { apiVersion: 'v1', kind: 'DeleteOptions', ...(pod.uid ? { preconditions: { uid: pod.uid } } : {}) };
  const res = await client.request('DELETE', path, body);
  if (res.status === 200 || res.status === 202) return 'deleted';
  // 404: already gone; 409: the uid precondition failed, i.e. it was already replaced. Both are the goal.
  if (res.status === 404 || res.status === 409) return 'gone';
  throw new KubeError('DELETE', path, res);
}

/** Waits until the controller has seen the latest spec, so status.updateRevision belongs to it. */
async function observedStatefulSet(client: KubeClient, opts: RecreateOptions, deadline: number): Promise<StatefulSetView> {
  for (;;) {
    const set = await getStatefulSet(client, opts.namespace, opts.name);
    if (set.observedGeneration >= set.generation && set.updateRevision !== undefined) return set;
    if (Date.now() >= deadline) {
      throw new Error(
        `StatefulSet ${opts.namespace}/${opts.name}: controller has not observed generation ${set.generation} ` +
          `(observedGeneration ${set.observedGeneration}, updateRevision ${set.updateRevision ?? 'unset'})`,
      );
    }
    await sleep(opts.intervalMs);
  }
}

export async function recreate(client: KubeClient, opts: RecreateOptions): Promise<RecreateResult> {
  const log = opts.log ?? (() => {});
  // Reading the status may need a short wait even when not waiting for readiness afterwards.
  const start = Date.now();
  const set = await observedStatefulSet(client, opts, start + Math.max(opts.timeoutMs, 10 * opts.intervalMs));
  const updateRevision = set.updateRevision as string;
  const pods = (await listPods(client, opts.namespace, set.selector, set, opts.name)).filter((p) => p.ownedBySet);
  const stale = pods.filter((p) => p.hash !== updateRevision && !p.terminating);
  const current = pods.filter((p) => p.hash === updateRevision).map((p) => p.name);
  if (stale.length === 0) {
    log(`${opts.namespace}/${opts.name}: all ${pods.length} pod(s) on ${updateRevision}; nothing to recreate`);
    return { updateRevision, deleted: [], current };
  }
  log(`${opts.namespace}/${opts.name}: deleting ${stale.map((p) => `${p.name} (${p.hash ?? 'no hash'})`).join(', ')} -> ${updateRevision}`);
  // All at once: that is the point of Recreate.
  await Promise.all(stale.map((p) => deletePod(client, opts.namespace, p)));
  const deleted = stale.map((p) => p.name);
  if (opts.timeoutMs > 0) await waitForRollout(client, opts, updateRevision, start + opts.timeoutMs);
  return { updateRevision, deleted, current };
}

/** Polls until every replica is updated and Ready on `revision`. */
export async function waitForRollout(client: KubeClient, opts: RecreateOptions, revision: string, deadline: number): Promise<void> {
  const log = opts.log ?? (() => {});
  let last = '';
  for (;;) {
    const s = await getStatefulSet(client, opts.namespace, opts.name);
    const summary = `${s.readyReplicas}/${s.replicas} ready, ${s.updatedReplicas}/${s.replicas} on ${s.updateRevision ?? 'unset'}`;
    if (s.updateRevision !== revision) {
      throw new Error(`StatefulSet ${opts.namespace}/${opts.name} moved to revision ${s.updateRevision ?? 'unset'} while waiting for ${revision}; a newer sync takes over`);
    }
    if (s.observedGeneration >= s.generation && s.updatedReplicas === s.replicas && s.readyReplicas === s.replicas) {
      log(`${opts.namespace}/${opts.name}: ${summary}`);
      return;
    }
    if (summary !== last) log(`${opts.namespace}/${opts.name}: waiting, ${summary}`);
    last = summary;
    if (Date.now() >= deadline) throw new Error(`StatefulSet ${opts.namespace}/${opts.name} not ready in time: ${summary}`);
    await sleep(opts.intervalMs);
  }
}

export function optionsFromEnv(env: Record<string, string | undefined>): RecreateOptions {
  const namespace = env['RECREATE_NAMESPACE'];
  if (!namespace) throw new Error('RECREATE_NAMESPACE is required');
  const int = (key: string, fallback: number) => {
    const raw = env[key];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    namespace,
    name: env['RECREATE_STATEFULSET'] || 'rollcall',
    timeoutMs: int('RECREATE_TIMEOUT_MS', 300_000),
    intervalMs: int('RECREATE_INTERVAL_MS', 2_000),
  };
}

export function clientFromEnv(env: Record<string, string | undefined>): KubeClient {
  const api = env['RECREATE_API_URL'];
  if (api) return urlClient(api, env['RECREATE_API_TOKEN']);
  return inClusterClient(inClusterConfig(env));
}

export async function main(env: Record<string, string | undefined>): Promise<number> {
  const log = (line: string) => console.log(`recreate: ${line}`);
  try {
    const opts = { ...optionsFromEnv(env), log };
    const result = await recreate(clientFromEnv(env), opts);
    log(result.deleted.length === 0 ? 'done, no pod restarted' : `done, recreated ${result.deleted.join(', ')}`);
    return 0;
  } catch (err) {
    console.error(`recreate: FAILED: ${(err as Error).message}`);
    return 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.env);
}
