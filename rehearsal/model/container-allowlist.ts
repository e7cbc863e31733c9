// What a manifest's container may set, as an allowlist. The rehearsal (`rollcall compare`) and the node agent of the
// real control plane run a manifest's containers as local processes, on the host, often as root: whatever a manifest
// may set reaches a process there. `NODE_OPTIONS=--import=data:...` in an overlay's env ran its code in every
// rehearsal process, and `npm run validate` said ok. So a manifest is untrusted input: a container may set only what
// this file lists, in the shapes it lists, and anything else is refused with the field named.
//
// Pure functions of the container (or pod spec) object, no I/O, so the rehearsal's planner, the bundle's validation
// (bundle/policy-container-allowlist.ts) and the node agent apply the same rules:
//
//   checkContainer(container)  one entry of `containers` / `initContainers`
//   checkPodSpec(spec, path)   every container of a pod template and its volumes
//   both return {ok: true} or {ok: false, field, reason}: `field` is a path such as `env[NODE_OPTIONS]` or
//   `command`, relative to the container (or, for checkPodSpec, to the pod spec).
//
// What is allowed, and why:
// - command: none (the image's entrypoint, the service) or exactly one of HOOK_COMMANDS, the programs the image
//   carries for the Argo CD hook Jobs. No args: none of them takes any, and arguments to node are code (-e, --import).
// - env: names from ENV_RULES only (what the service and the hooks read, src/service/config.ts, src/hooks/*.ts), each
//   value matching its pattern; `valueFrom` only as a fieldRef to the pod's name or namespace or a resourceFieldRef
//   to the container's memory limit. No envFrom (it brings names nobody listed). Names the runtime itself reads
//   (NODE_OPTIONS, NODE_PATH, LD_PRELOAD, PATH...) are not on the list, so they are refused like any other.
// - image: a well-formed reference with a tag or digest. Locally it selects nothing: the processes run this
//   checkout's service or hook programs whatever the image says (which image the bundle may name is the bundle
//   policy's business, bundle/policy.ts), so the allowlist only refuses what is not an image reference at all.
// - volumeMounts: only at /app/data and /tmp, by name, optionally read-only; no subPath (it can reach outside).
// - volumes (pod spec): emptyDir and persistentVolumeClaim only; hostPath and the rest would hand a process the host.
// - probes: httpGet or tcpSocket (exec runs a command); no lifecycle hooks (they run commands too).
// - Other fields that only describe the container (ports, resources, securityContext, imagePullPolicy, termination
//   message settings) are allowed as they are: nothing local reads them as something to run.

export type ContainerCheck = { ok: true } | { ok: false; field: string; reason: string };

/** The programs the image carries besides the service (Dockerfile: /app/hooks/<name>.js, scripts/build.ts). */
export const HOOK_COMMANDS: readonly (readonly string[])[] = [
  ['node', '/app/hooks/smoke.js'],
  ['node', '/app/hooks/recreate-hook.js'],
  // The in-cluster load of `rollcall compare --cluster` (src/hooks/load.ts): a pod, not a hook Job, from the same image.
  ['node', '/app/hooks/load.js'],
];

/** registry/path:tag or @sha256:digest (https://github.com/distribution/reference, reference.go's grammar, simplified). */
const IMAGE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$/;

const DIGITS = /^[0-9]{1,9}$/;
/** A Kubernetes object name (DNS-1123 subdomain). */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const URL_LIST = /^https?:\/\/[A-Za-z0-9.:[\]_-]+(\/[A-Za-z0-9._~/-]*)?(,\s*https?:\/\/[A-Za-z0-9.:[\]_-]+(\/[A-Za-z0-9._~/-]*)?)*$/;

/** Every variable a container may set, and the form of its value. */
export const ENV_RULES: Readonly<Record<string, RegExp>> = {
  // The service (src/service/config.ts validates each again at start-up).
  PORT: DIGITS,
  HOST: /^[A-Za-z0-9.:-]{1,253}$/,
  DATA_DIR: /^\/(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/-]{0,255}$/,
  TIME_ZONE: /^[A-Za-z0-9_+/-]{1,64}$/,
  POD_NAME: NAME,
  APP_VERSION: LABEL,
  SHUTDOWN_DRAIN_MS: DIGITS,
  SHUTDOWN_TIMEOUT_MS: DIGITS,
  LOG_LEVEL: /^(fatal|error|warn|info|debug|trace|silent)$/,
  BAD_RELEASE: /^[a-z]{1,16}(:[0-9.]{1,12})?$/,
  MEMORY_LIMIT_BYTES: /^[0-9]{1,16}$/,
  // The smoke hook (src/hooks/smoke.ts).
  SMOKE_STATEFULSET: NAME,
  SMOKE_SERVICE: NAME,
  SMOKE_NAMESPACE: NAME,
  SMOKE_REPLICAS: DIGITS,
  SMOKE_PORT: DIGITS,
  SMOKE_PARTITION: DIGITS,
  SMOKE_TIMEOUT_MS: DIGITS,
  SMOKE_INTERVAL_MS: DIGITS,
  SMOKE_REQUEST_TIMEOUT_MS: DIGITS,
  SMOKE_CLUSTER_DOMAIN: NAME,
  SMOKE_EXPECTED_VERSION: LABEL,
  SMOKE_URLS: URL_LIST,
  // The recreate hook (src/hooks/recreate-hook.ts).
  RECREATE_STATEFULSET: NAME,
  RECREATE_NAMESPACE: NAME,
  RECREATE_TIMEOUT_MS: DIGITS,
  RECREATE_INTERVAL_MS: DIGITS,
  RECREATE_API_URL: URL_LIST,
  // The in-cluster load (src/hooks/load.ts).
  LOAD_URL: URL_LIST,
  LOAD_CONNECTIONS: DIGITS,
  LOAD_RATE: DIGITS,
  LOAD_SECONDS: DIGITS,
  LOAD_PORT: DIGITS,
  LOAD_KEEPALIVE: /^(true|false)$/,
};

/** Downward API sources a value may come from (https://kubernetes.io/docs/concepts/workloads/pods/downward-api/). */
const FIELD_REFS = new Set(['metadata.name', 'metadata.namespace']);
const RESOURCE_REFS = new Set(['limits.memory']);

export const MOUNT_PATHS: readonly string[] = ['/app/data', '/tmp'];
export const VOLUME_KINDS: readonly string[] = ['emptyDir', 'persistentVolumeClaim'];

/** Container fields allowed as they are: descriptions nothing local runs. */
const DESCRIPTIVE = new Set(['name', 'image', 'imagePullPolicy', 'ports', 'resources', 'securityContext', 'terminationMessagePath', 'terminationMessagePolicy']);
const PROBES = new Set(['readinessProbe', 'livenessProbe', 'startupProbe']);
const PROBE_HANDLERS = new Set(['httpGet', 'tcpSocket']);

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const refuse = (field: string, reason: string): ContainerCheck => ({ ok: false, field, reason });
const OK: ContainerCheck = { ok: true };

function checkEnv(env: unknown): ContainerCheck {
  if (!Array.isArray(env)) return refuse('env', 'must be a list');
  for (const [i, entry] of env.entries()) {
    if (!isRec(entry) || typeof entry['name'] !== 'string') return refuse(`env[${i}]`, 'must have a name');
    const name = entry['name'];
    const field = `env[${name}]`;
    const rule = ENV_RULES[name];
    if (!Object.hasOwn(ENV_RULES, name) || rule === undefined) return refuse(field, `${name} is not a variable a manifest may set (allowed: ${Object.keys(ENV_RULES).join(', ')})`);
    const extra = Object.keys(entry).filter((k) => k !== 'name' && k !== 'value' && k !== 'valueFrom');
    if (extra.length > 0) return refuse(`${field}.${extra[0]}`, 'not an env field a manifest may set');
    if ('value' in entry && 'valueFrom' in entry) return refuse(field, 'sets both value and valueFrom');
    if ('valueFrom' in entry) {
      const from = entry['valueFrom'];
      if (!isRec(from) || Object.keys(from).length !== 1) return refuse(`${field}.valueFrom`, 'must be one fieldRef or resourceFieldRef');
      const fieldRef = from['fieldRef'];
      const resourceRef = from['resourceFieldRef'];
      if (isRec(fieldRef) && typeof fieldRef['fieldPath'] === 'string' && FIELD_REFS.has(fieldRef['fieldPath'])) continue;
      if (isRec(resourceRef) && typeof resourceRef['resource'] === 'string' && RESOURCE_REFS.has(resourceRef['resource'])) continue;
      return refuse(`${field}.valueFrom`, `only a fieldRef to ${[...FIELD_REFS].join(' or ')} or a resourceFieldRef to ${[...RESOURCE_REFS].join(' or ')} is allowed`);
    }
    const value = entry['value'] ?? '';
    if (typeof value !== 'string') return refuse(`${field}.value`, 'must be a string');
    if (value !== '' && !rule.test(value)) return refuse(`${field}.value`, `${JSON.stringify(value.slice(0, 80))} does not match ${rule}`);
  }
  return OK;
}

function checkMounts(mounts: unknown): ContainerCheck {
  if (!Array.isArray(mounts)) return refuse('volumeMounts', 'must be a list');
  for (const [i, mount] of mounts.entries()) {
    if (!isRec(mount)) return refuse(`volumeMounts[${i}]`, 'must be an object');
    const extra = Object.keys(mount).filter((k) => k !== 'name' && k !== 'mountPath' && k !== 'readOnly');
    if (extra.length > 0) return refuse(`volumeMounts[${i}].${extra[0]}`, 'not allowed (only name, mountPath, readOnly)');
    if (typeof mount['mountPath'] !== 'string' || !MOUNT_PATHS.includes(mount['mountPath'])) {
      return refuse(`volumeMounts[${i}].mountPath`, `${JSON.stringify(mount['mountPath'])} is not one of ${MOUNT_PATHS.join(', ')}`);
    }
  }
  return OK;
}

function checkProbe(name: string, probe: unknown): ContainerCheck {
  if (!isRec(probe)) return refuse(name, 'must be an object');
  for (const key of Object.keys(probe)) {
    if (key === 'exec' || key === 'grpc') return refuse(`${name}.${key}`, 'only httpGet and tcpSocket probes are allowed (exec runs a command)');
  }
  if (!Object.keys(probe).some((k) => PROBE_HANDLERS.has(k))) return refuse(name, 'needs an httpGet or tcpSocket handler');
  return OK;
}

/** One container of a pod template. */
export function checkContainer(container: unknown): ContainerCheck {
  if (!isRec(container)) return refuse('', 'a container must be an object');
  for (const [key, value] of Object.entries(container)) {
    let result: ContainerCheck = OK;
    if (DESCRIPTIVE.has(key)) {
      if (key === 'image') {
        if (typeof value !== 'string' || !IMAGE.test(value)) result = refuse('image', `${JSON.stringify(value)} is not an image reference with a tag or digest`);
      }
    } else if (key === 'command') {
      const matches = Array.isArray(value) && HOOK_COMMANDS.some((allowed) => allowed.length === value.length && allowed.every((part, i) => part === value[i]));
      if (!matches) result = refuse('command', `${JSON.stringify(value)} is not one of the image's programs (${HOOK_COMMANDS.map((c) => c.join(' ')).join('; ')}); leave it unset for the service`);
    } else if (key === 'args') {
      if (!(Array.isArray(value) && value.length === 0)) result = refuse('args', 'no arguments are allowed (arguments to node can run code: -e, --import, --require)');
    } else if (key === 'env') result = checkEnv(value);
    else if (key === 'envFrom') result = refuse('envFrom', 'not allowed: it brings variables nobody listed; set each one in env');
    else if (key === 'volumeMounts') result = checkMounts(value);
    else if (PROBES.has(key)) result = checkProbe(key, value);
    else result = refuse(key, 'not a container field a manifest may set here');
    if (!result.ok) return result;
  }
  return OK;
}

/** Every container (and init container) of a pod spec, and its volumes. Fields are relative to the pod spec. */
export function checkPodSpec(spec: unknown): ContainerCheck {
  if (!isRec(spec)) return OK;
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    const containers = spec[list];
    if (containers === undefined) continue;
    if (!Array.isArray(containers)) return refuse(list, 'must be a list');
    for (const [i, container] of containers.entries()) {
      const result = checkContainer(container);
      if (!result.ok) {
        const name = isRec(container) && typeof container['name'] === 'string' ? container['name'] : String(i);
        return refuse(`${list}[${name}]${result.field ? `.${result.field}` : ''}`, result.reason);
      }
    }
  }
  const volumes = spec['volumes'];
  if (volumes !== undefined) {
    if (!Array.isArray(volumes)) return refuse('volumes', 'must be a list');
    for (const [i, volume] of volumes.entries()) {
      const kinds = isRec(volume) ? Object.keys(volume).filter((k) => k !== 'name') : [];
      const name = isRec(volume) && typeof volume['name'] === 'string' ? volume['name'] : String(i);
      const kind = kinds.find((k) => !VOLUME_KINDS.includes(k));
      if (kind !== undefined || kinds.length !== 1) return refuse(`volumes[${name}]${kind ? `.${kind}` : ''}`, `only ${VOLUME_KINDS.join(' and ')} volumes are allowed`);
    }
  }
  return OK;
}
