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
// Every API call is retried through the API server's hiccups until the hook's deadline (k8s-retry.ts); the deletes
// run together, each retried on its own, and the outcome names every pod: deleted, already gone, or not deleted.
import { fileURLToPath } from 'node:url';
import { inClusterClient, inClusterConfig, KubeError, selectorToQuery, statusMessage, urlClient, type KubeClient, type KubeResponse, type Method } from './k8s-client.ts';
import { checkName, invalidNameReason } from './k8s-names.ts';
import { defaultBackoff, requestWithRetry, type RetryPolicy } from './k8s-retry.ts';

export interface RecreateOptions {
  namespace: string;
  name: string;
  /** Wait this long for all replicas to be Ready on the new revision; 0 = return right after deleting. */
  timeoutMs: number;
  intervalMs: number;
  /** Back-off between attempts of one API call (k8s-retry.ts); defaults to 250 ms doubling to 5 s. */
  backoff?: { firstDelayMs: number; maxDelayMs: number };
  log?: (line: string) => void;
}

export interface RecreateResult {
  updateRevision: string;
  /** Pods this run's DELETE removed (the API server answered 200 or 202). */
  deleted: string[];
  /**
   * Stale pods that were gone or already replaced when the DELETE arrived (404, or 409 from the uid precondition),
   * possibly by an earlier attempt of this run whose answer was lost.
   */
  gone: string[];
  /** Pods of the set that were already on updateRevision. */
  current: string[];
}

/** The deletes did not all succeed: says exactly which pods were deleted and which were not. */
export class DeleteFailedError extends Error {
  override name = 'DeleteFailedError';
  readonly deleted: string[];
  readonly gone: string[];
  readonly failed: { name: string; reason: string }[];
  constructor(deleted: string[], gone: string[], failed: { name: string; reason: string }[]) {
    const list = (names: string[]) => (names.length === 0 ? 'none' : names.join(', '));
    super(
      `could not delete ${failed.map((f) => `${f.name} (${f.reason})`).join('; ')}. ` +
        `Deleted: ${list(deleted)}${gone.length > 0 ? `; already gone: ${list(gone)}` : ''}. ` +
        'The next sync runs the hook again and deletes what is still stale.',
    );
    this.deleted = deleted;
    this.gone = gone;
    this.failed = failed;
  }
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
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One hook run: its deadline and how each API call is retried until then. */
interface Run {
  client: KubeClient;
  opts: RecreateOptions;
  policy: RetryPolicy;
}

function call(run: Run, method: Method, path: string, body?: unknown): Promise<KubeResponse> {
  return requestWithRetry(run.client, method, path, body, run.policy);
}

async function getStatefulSet(run: Run): Promise<StatefulSetView> {
  const { namespace: ns, name } = run.opts;
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/statefulsets/${encodeURIComponent(name)}`;
  const res = await call(run, 'GET', path);
  // Neither gets better by waiting: say what to fix.
  if (res.status === 403) {
    throw new Error(`StatefulSet ${ns}/${name}: forbidden (403: ${statusMessage(res)}); the hook's ServiceAccount needs get on statefulsets (kustomize/overlays/recreate/role.yaml)`);
  }
  if (res.status === 404) throw new Error(`StatefulSet ${ns}/${name} not found (404: ${statusMessage(res)}); check RECREATE_STATEFULSET and RECREATE_NAMESPACE`);
  if (res.status !== 200) throw new KubeError('GET', path, res);
  if (!isObject(res.body)) throw new Error(`GET ${path} answered 200 with something that is not a StatefulSet object`);
  const o = res.body as { metadata?: Record<string, unknown>; spec?: Record<string, unknown>; status?: Record<string, unknown> };
  return {
    generation: num(o.metadata?.['generation']),
    observedGeneration: num(o.status?.['observedGeneration']),
    // spec.replicas defaults to 1 when omitted.
    replicas: num(o.spec?.['replicas'], 1),
    updateRevision: str(o.status?.['updateRevision']),
    updatedReplicas: num(o.status?.['updatedReplicas']),
    readyReplicas: num(o.status?.['readyReplicas']),
    selector: o.spec?.['selector'],
    uid: str(o.metadata?.['uid']),
  };
}

async function listPods(run: Run, set: StatefulSetView): Promise<PodView[]> {
  const { namespace: ns, name } = run.opts;
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods?labelSelector=${encodeURIComponent(selectorToQuery(set.selector))}`;
  const res = await call(run, 'GET', path);
  if (res.status !== 200) throw new KubeError('GET', path, res);
  const items = isObject(res.body) ? res.body['items'] : undefined;
  if (!Array.isArray(items)) throw new Error(`GET ${path} answered 200 without an items list: not a PodList`);
  const pods = items.map((item) => {
    const meta = (isObject(item) && isObject(item['metadata']) ? item['metadata'] : {}) as {
      name?: unknown;
      uid?: unknown;
      labels?: Record<string, unknown>;
      deletionTimestamp?: unknown;
      ownerReferences?: { kind?: unknown; name?: unknown; uid?: unknown; controller?: unknown }[];
    };
    const owner = (Array.isArray(meta.ownerReferences) ? meta.ownerReferences : []).find((r) => isObject(r) && r.controller === true);
    return {
      name: meta.name as string,
      uid: str(meta.uid),
      hash: str(meta.labels?.['controller-revision-hash']),
      terminating: typeof meta.deletionTimestamp === 'string',
      ownedBySet: owner?.kind === 'StatefulSet' && owner.name === name && (set.uid === undefined || owner.uid === undefined || owner.uid === set.uid),
    };
  });
  // A pod name goes into a DELETE path: '', '.' or '..' would address the collection or the namespace. Distrust the
  // whole list when one name is not a name Kubernetes could have given a pod.
  const bad = pods.map((p) => [p.name, invalidNameReason(p.name, 'subdomain')] as const).filter(([, why]) => why !== undefined);
  if (bad.length > 0) {
    throw new Error(`GET ${path} listed invalid pod names (${bad.map(([n, why]) => `${JSON.stringify(n ?? null)} ${why}`).join('; ')}); refusing to delete anything`);
  }
  return pods;
}

async function deletePod(run: Run, pod: PodView): Promise<'deleted' | 'gone'> {
  const path = `/api/v1/namespaces/${encodeURIComponent(run.opts.namespace)}/pods/${encodeURIComponent(checkName(pod.name, 'subdomain', 'pod name'))}`;
  // The uid precondition makes sure we delete the pod we looked at, never a replacement with the same name; it also
  // makes a repeated DELETE harmless (409 once the pod was replaced).
  const body = { apiVersion: 'v1', kind: 'DeleteOptions', ...(pod.uid ? { preconditions: { uid: pod.uid } } : {}) };
  const res = await call(run, 'DELETE', path, body);
  if (res.status === 200 || res.status === 202) return 'deleted';
  // 404: already gone; 409: the uid precondition failed, i.e. it was already replaced. Both are the goal.
  if (res.status === 404 || res.status === 409) return 'gone';
  throw new KubeError('DELETE', path, res);
}

/** Waits until the controller has seen the latest spec, so status.updateRevision belongs to it. */
async function observedStatefulSet(run: Run, deadline: number): Promise<StatefulSetView> {
  const opts = run.opts;
  for (;;) {
    const set = await getStatefulSet(run);
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
  checkName(opts.namespace, 'label', 'namespace');
  checkName(opts.name, 'subdomain', 'StatefulSet name');
  // Reading the status may need a short wait even when not waiting for readiness afterwards; the same deadline
  // bounds every API call's retries.
  const start = Date.now();
  const deadline = start + Math.max(opts.timeoutMs, 10 * opts.intervalMs);
  const run: Run = { client, opts, policy: { deadline, ...(opts.backoff ?? defaultBackoff), log } };
  const set = await observedStatefulSet(run, deadline);
  const updateRevision = set.updateRevision as string;
  const pods = (await listPods(run, set)).filter((p) => p.ownedBySet);
  const stale = pods.filter((p) => p.hash !== updateRevision && !p.terminating);
  const current = pods.filter((p) => p.hash === updateRevision).map((p) => p.name);
  if (stale.length === 0) {
    log(`${opts.namespace}/${opts.name}: all ${pods.length} pod(s) on ${updateRevision}; nothing to recreate`);
    return { updateRevision, deleted: [], gone: [], current };
  }
  log(`${opts.namespace}/${opts.name}: deleting ${stale.map((p) => `${p.name} (${p.hash ?? 'no hash'})`).join(', ')} -> ${updateRevision}`);
  // All at once: that is the point of Recreate. Each delete retries on its own and every outcome is kept, so a
  // failure never hides which pods are already gone.
  const outcomes = await Promise.allSettled(stale.map((p) => deletePod(run, p)));
  const deleted: string[] = [];
  const gone: string[] = [];
  const failed: { name: string; reason: string }[] = [];
  outcomes.forEach((o, i) => {
    const name = stale[i]!.name;
    if (o.status === 'rejected') failed.push({ name, reason: (o.reason as Error).message });
    else (o.value === 'deleted' ? deleted : gone).push(name);
  });
  log(`${opts.namespace}/${opts.name}: deleted ${deleted.join(', ') || 'none'}${gone.length > 0 ? `; already gone ${gone.join(', ')}` : ''}${failed.length > 0 ? `; NOT deleted ${failed.map((f) => f.name).join(', ')}` : ''}`);
  if (failed.length > 0) throw new DeleteFailedError(deleted, gone, failed);
  if (opts.timeoutMs > 0) await waitForRollout(run, updateRevision, start + opts.timeoutMs);
  return { updateRevision, deleted, gone, current };
}

/** Polls until every replica is updated and Ready on `revision`. */
async function waitForRollout(run: Run, revision: string, deadline: number): Promise<void> {
  const opts = run.opts;
  const log = opts.log ?? (() => {});
  let last = '';
  for (;;) {
    const s = await getStatefulSet(run);
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
    namespace: checkName(namespace, 'label', 'RECREATE_NAMESPACE'),
    name: checkName(env['RECREATE_STATEFULSET'] || 'rollcall', 'subdomain', 'RECREATE_STATEFULSET'),
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
    const replaced = [...result.deleted, ...result.gone];
    log(replaced.length === 0 ? 'done, no pod restarted' : `done, recreated ${replaced.join(', ')}${result.gone.length > 0 ? ` (already gone when deleted: ${result.gone.join(', ')})` : ''}`);
    return 0;
  } catch (err) {
    console.error(`recreate: FAILED: ${(err as Error).message}`);
    return 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.env);
}
