// The environment a container of Argo CD's install manifests gets, computed from its `env` list and the live
// ConfigMaps and Secrets, so a component run as a process reads argocd-cmd-params-cm and argocd-cm exactly as its pod
// would (e.g. `controller.sync.timeout.seconds` → ARGOCD_APPLICATION_CONTROLLER_SYNC_TIMEOUT). Argo CD's binaries
// read none of these ConfigMaps for their flags themselves: the Deployment/StatefulSet maps each key to a variable.
//
// Kubernetes' rules (kubelet `makeEnvironmentVariables`, pkg/kubelet/kubelet_pods.go): `value` as written (no
// $(VAR) in Argo CD's manifests); `configMapKeyRef`/`secretKeyRef` take the key's value, and a missing map or key
// leaves the variable out when `optional: true`, else the container does not start (CreateContainerConfigError);
// `fieldRef` to metadata.namespace is the pod's namespace. Secret data is base64 in the API, decoded here.

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

export interface PodContext {
  namespace: string;
  /** ConfigMap name → data. */
  configMaps: Record<string, Record<string, string> | undefined>;
  /** Secret name → data (base64, as the API returns it). */
  secrets: Record<string, Record<string, string> | undefined>;
}

export function containerEnv(env: readonly EnvVar[], pod: PodContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of env) {
    if (v.value !== undefined || v.valueFrom === undefined) {
      out[v.name] = v.value ?? '';
      continue;
    }
    const { configMapKeyRef: cm, secretKeyRef: secret, fieldRef } = v.valueFrom;
    if (cm) {
      const value = pod.configMaps[cm.name]?.[cm.key];
      if (value !== undefined) out[v.name] = value;
      else if (!cm.optional) throw new Error(`${v.name}: ConfigMap ${cm.name} has no key ${cm.key} and the reference is not optional (the pod would not start)`);
    } else if (secret) {
      const value = pod.secrets[secret.name]?.[secret.key];
      if (value !== undefined) out[v.name] = Buffer.from(value, 'base64').toString('utf8');
      else if (!secret.optional) throw new Error(`${v.name}: Secret ${secret.name} has no key ${secret.key} and the reference is not optional (the pod would not start)`);
    } else if (fieldRef) {
      if (fieldRef.fieldPath !== 'metadata.namespace') throw new Error(`${v.name}: fieldRef ${fieldRef.fieldPath} is not supported here`);
      out[v.name] = pod.namespace;
    } else {
      throw new Error(`${v.name}: unsupported valueFrom ${JSON.stringify(v.valueFrom)}`);
    }
  }
  return out;
}
