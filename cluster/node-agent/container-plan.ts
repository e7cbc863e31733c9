// How one container of a pod becomes a process: argv, working directory, environment and identity, from the pod
// manifest and the image's configuration, with the container's paths translated to the directories standing for
// them on this node (its volume mounts, then the image's /app). Pure: the agent gathers what it needs from the API
// (config maps, secrets) into `lookup` first; nothing here touches a process or the network.
import path from 'node:path';
import type { IContainer, IEnvVar } from 'kubernetes-models/v1';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { Image } from './images.ts';

export interface Mount {
  /** Where the container sees it. */
  mountPath: string;
  /** The directory or file on this node. */
  hostPath: string;
  readOnly: boolean;
}

export interface ContainerPlan {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  uid: number;
  gid: number;
  groups: number[];
  /** allowPrivilegeEscalation: false → no_new_privs, as runc sets it. */
  noNewPrivs: boolean;
}

/** Thrown for a manifest the node cannot run as written: the kubelet's CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

export interface PlanInputs {
  pod: IPod;
  container: IContainer;
  image: Image;
  mounts: Mount[];
  /** The binary standing for the image's `node` (the project's own Node 24). */
  nodeBinary: string;
  podIP: string;
  hostIP: string;
  /** KUBERNETES_SERVICE_HOST/PORT: how a pod reaches the API server. */
  apiService: { host: string; port: number };
  /** Values of configMapKeyRef / secretKeyRef, fetched by the caller: `configmap/NAME/KEY` or `secret/NAME/KEY`. */
  lookup: (kind: 'configmap' | 'secret', name: string, key: string) => string | undefined;
}

/**
 * `$(VAR)` references in command, args and env values, as the kubelet expands them: a defined variable is replaced,
 * `$$` is an escaped `$`, an undefined reference stays as written.
 * Source: kubernetes third_party/forked/golang/expansion/expand.go Expand.
 */
export function expand(input: string, vars: Record<string, string>): string {
  return input.replace(/\$\$|\$\(([^)]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? (vars[name] as string) : whole;
  });
}

/** The downward API's fieldRef paths (pkg/api/v1/pod util ConvertDownwardAPIFieldLabel lists the allowed ones). */
export function fieldRefValue(pod: IPod, fieldPath: string, podIP: string, hostIP: string): string {
  const meta = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (sub) return (sub[1] === 'labels' ? meta.labels : meta.annotations)?.[sub[2] ?? ''] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return podIP;
    default:
      throw new ContainerConfigError(`fieldRef ${fieldPath} is not supported by this node`);
  }
}

function envValue(v: IEnvVar, inputs: PlanInputs, vars: Record<string, string>): string {
  if (v.value !== undefined) return expand(v.value, vars);
  const from = v.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return fieldRefValue(inputs.pod, from.fieldRef.fieldPath, inputs.podIP, inputs.hostIP);
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (ref) {
    const kind = from.configMapKeyRef ? 'configmap' : 'secret';
    const value = inputs.lookup(kind, ref.name ?? '', ref.key);
    if (value === undefined && !ref.optional) throw new ContainerConfigError(`${kind} ${ref.name} has no key ${ref.key} (env ${v.name})`);
    return value ?? '';
  }
  throw new ContainerConfigError(`env ${v.name}: only value, fieldRef, configMapKeyRef and secretKeyRef are supported by this node`);
}

/**
 * A container path as a path on this node: the longest mountPath containing it wins (a volume at /app/data shadows
 * the image's /app), then the image's working directory tree (the build directory stands for /app). Other paths are
 * left as they are.
 */
export function hostPathFor(p: string, mounts: Mount[], image: Image): string {
  if (!p.startsWith('/')) return p;
  const roots = [...mounts.map((m) => ({ from: m.mountPath, to: m.hostPath })), { from: image.config.workingDir, to: image.dir }]
    .filter((r) => r.from !== '/')
    .sort((a, b) => b.from.length - a.from.length);
  for (const r of roots) {
    const from = r.from.replace(/\/+$/, '');
    if (p === from) return r.to;
    if (p.startsWith(from + '/')) return path.join(r.to, p.slice(from.length + 1));
  }
  return p;
}

/** An argument or env value that is a container path, or `--flag=/path`, translated by hostPathFor. */
function translate(value: string, mounts: Mount[], image: Image): string {
  if (value.startsWith('/')) return hostPathFor(value, mounts, image);
  const m = /^(--?[\w-]+=)(\/.*)$/.exec(value);
  return m ? (m[1] ?? '') + hostPathFor(m[2] ?? '', mounts, image) : value;
}

export function buildContainerPlan(inputs: PlanInputs): ContainerPlan {
  const { pod, container, image, mounts } = inputs;
  const podSec = pod.spec?.securityContext ?? {};
  const sec = container.securityContext ?? {};

  // Environment: the image's ENV, then the API server's Service variables the kubelet always adds
  // (pkg/kubelet/kubelet_pods.go getServiceEnvVarMap: the `kubernetes` Service even with enableServiceLinks false),
  // then the container's env in order, each able to refer to the ones before it.
  const vars: Record<string, string> = {};
  for (const [k, v] of image.config.env) vars[k] = v;
  vars['KUBERNETES_SERVICE_HOST'] = inputs.apiService.host;
  vars['KUBERNETES_SERVICE_PORT'] = String(inputs.apiService.port);
  vars['KUBERNETES_SERVICE_PORT_HTTPS'] = String(inputs.apiService.port);
  vars['HOSTNAME'] = pod.spec?.hostname ?? pod.metadata?.name ?? '';
  for (const v of container.env ?? []) vars[v.name] = envValue(v, inputs, vars);
  if ((container.envFrom ?? []).length > 0) throw new ContainerConfigError('envFrom is not supported by this node');

  // Command and args (https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/
  // #notes): command replaces the image's ENTRYPOINT (and drops its CMD); args alone replace CMD.
  const command = container.command?.length ? container.command : image.config.entrypoint;
  const args = container.command?.length ? (container.args ?? []) : container.args?.length ? container.args : image.config.cmd;
  const words = [...command, ...args].map((w) => expand(w, vars));
  if (words.length === 0) throw new ContainerConfigError(`container ${container.name}: no command (the image has neither ENTRYPOINT nor CMD)`);
  // The image's only program is node: `node` (or its path in the image) is the project's Node binary.
  const [program, ...rest] = words;
  if (program !== 'node' && program !== '/usr/local/bin/node') {
    throw new ContainerConfigError(`container ${container.name}: this node runs only the image's node, not ${JSON.stringify(program)}`);
  }
  const argv = [inputs.nodeBinary, ...rest.map((w) => translate(w, mounts, image))];

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) env[k] = translate(v, mounts, image);
  // PATH as the image has it would name directories of the image's filesystem; the node binary is given by path.
  env['PATH'] = `${path.dirname(inputs.nodeBinary)}:/usr/local/bin:/usr/bin:/bin`;

  const uid = sec.runAsUser ?? podSec.runAsUser ?? image.config.uid ?? 0;
  const gid = sec.runAsGroup ?? podSec.runAsGroup ?? image.config.gid ?? 0;
  // pkg/kubelet/kuberuntime/security_context_others.go verifyRunAsNonRoot: refuse uid 0 when runAsNonRoot is set.
  if ((sec.runAsNonRoot ?? podSec.runAsNonRoot) && uid === 0) {
    throw new ContainerConfigError(`container ${container.name} has runAsNonRoot and would run as root`);
  }
  const groups = [...new Set([...(podSec.fsGroup !== undefined ? [podSec.fsGroup] : []), ...(podSec.supplementalGroups ?? [])])];
  const cwd = hostPathFor(container.workingDir ?? image.config.workingDir, mounts, image);
  return { argv, cwd, env, uid, gid, groups, noNewPrivs: sec.allowPrivilegeEscalation === false };
}
