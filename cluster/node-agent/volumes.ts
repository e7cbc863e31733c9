// A pod's volumes as directories on this node: a claim is the directory of the PersistentVolume it is bound to, an
// emptyDir a directory of the pod's own, a projected / configMap / secret / downwardAPI volume a directory of files
// the agent writes (the service-account token through the TokenRequest API, renewed before it expires, as the kubelet's
// token manager does). Other volume types are refused: they need a host or a cloud this node does not have.
import { chownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import type { IVolume, IVolumeMount } from 'kubernetes-models/v1';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { ContainerConfigError, fieldRefValue, type Mount } from './container-plan.ts';
import type { KubeApi } from './kube-api.ts';

/** A volume that is not ready yet (a claim not bound): the pod waits and the agent tries again. */
export class VolumeNotReady extends Error {
  override name = 'VolumeNotReady';
}

export interface PreparedVolumes {
  /** The mounts of one container, its volumeMounts resolved to paths on this node. */
  mountsFor(volumeMounts: IVolumeMount[] | undefined): Mount[];
  /** Stops token renewal; removes the pod's own directories (emptyDir, projected), never a claim's. */
  release(): void;
}

interface Deps {
  api: KubeApi;
  /** The pod's own directory under the agent's state dir. */
  podDir: string;
  podIP: string;
  hostIP: string;
  log: (msg: string) => void;
}

/**
 * fsGroup: the kubelet makes each writable volume group-owned by it, group read/write, setgid directories, so the
 * non-root process can write (pkg/volume/volume_linux.go SetVolumeOwnership); with fsGroupChangePolicy
 * OnRootMismatch it skips the walk when the volume's root already has that group and mode (skipPermissionChange).
 */
export function applyFsGroup(dir: string, gid: number, policy: string | undefined): void {
  const root = lstatSync(dir);
  const rootOk = root.gid === gid && (root.mode & 0o2070) === 0o2070;
  if (policy === 'OnRootMismatch' && rootOk) return;
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    chownSync(p, st.uid, gid);
    if (st.isDirectory()) {
      chmodSync(p, (st.mode & 0o7777) | 0o2070);
      for (const name of readdirSync(p)) walk(path.join(p, name));
    } else {
      chmodSync(p, (st.mode & 0o7777) | 0o060);
    }
  };
  walk(dir);
}

/** Writes a file by rename so a reader never sees half of it (the kubelet's AtomicWriter does this with symlinks). */
function writeAtomic(file: string, data: string | Buffer, mode: number, gid: number | undefined): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  if (gid !== undefined) chownSync(tmp, 0, gid);
  renameSync(tmp, file);
}

export async function prepareVolumes(deps: Deps, pod: IPod): Promise<PreparedVolumes> {
  const { api } = deps;
  const ns = pod.metadata?.namespace ?? 'default';
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  const fsPolicy = pod.spec?.securityContext?.fsGroupChangePolicy;
  const dirs = new Map<string, string>();
  const ownDirs: string[] = [];
  const timers: NodeJS.Timeout[] = [];

  const ownDir = (kind: string, name: string): string => {
    const dir = path.join(deps.podDir, 'volumes', kind, name);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    ownDirs.push(dir);
    return dir;
  };

  const configMap = async (name: string): Promise<Record<string, string> | undefined> =>
    (await api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${name}`))?.data;
  const secret = async (name: string): Promise<Record<string, string> | undefined> => {
    const s = await api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets/${name}`);
    return s ? Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : undefined;
  };

  type Item = { key?: string; path: string; mode?: number };
  const writeItems = (dir: string, data: Record<string, string>, items: Item[] | undefined, defaultMode: number, what: string): void => {
    const list: Item[] = items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of list) {
      const value = data[item.key ?? ''];
      if (value === undefined) throw new ContainerConfigError(`${what} has no key ${item.key}`);
      writeAtomic(path.join(dir, item.path), value, item.mode ?? defaultMode, fsGroup);
    }
  };

  /** TokenRequest for the pod's service account, bound to the pod (the kubelet's token manager, pkg/kubelet/token). */
  const requestToken = async (audience: string | undefined, expirationSeconds: number): Promise<{ token: string; expiresAt: number }> => {
    const sa = pod.spec?.serviceAccountName ?? 'default';
    const res = await api.request<{ status: { token: string; expirationTimestamp: string } }>(
      'POST',
      `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      },
    );
    return { token: res.status.token, expiresAt: Date.parse(res.status.expirationTimestamp) };
  };

  const projected = async (v: IVolume, dir: string): Promise<void> => {
    const defaultMode = v.projected?.defaultMode ?? 0o644;
    for (const source of v.projected?.sources ?? []) {
      if (source.serviceAccountToken) {
        const sat = source.serviceAccountToken;
        const file = path.join(dir, sat.path);
        const ttl = sat.expirationSeconds ?? 3600;
        const write = async (): Promise<void> => {
          const { token, expiresAt } = await requestToken(sat.audience, ttl);
          writeAtomic(file, token, defaultMode, fsGroup);
          // Renew at 80 % of the token's life (pkg/kubelet/token/token_manager.go requiresRefresh).
          const renewIn = Math.max(5_000, (expiresAt - Date.now()) * 0.8);
          const t = setTimeout(() => {
            write().catch((err: Error) => deps.log(`token renewal for ${ns}/${pod.metadata?.name} failed: ${err.message}`));
          }, renewIn);
          t.unref();
          timers.push(t);
        };
        await write();
      } else if (source.configMap) {
        const data = await configMap(source.configMap.name ?? '');
        if (!data && !source.configMap.optional) throw new VolumeNotReady(`configmap ${ns}/${source.configMap.name} not found`);
        writeItems(dir, data ?? {}, source.configMap.items, defaultMode, `configmap ${source.configMap.name}`);
      } else if (source.secret) {
        const data = await secret(source.secret.name ?? '');
        if (!data && !source.secret.optional) throw new VolumeNotReady(`secret ${ns}/${source.secret.name} not found`);
        writeItems(dir, data ?? {}, source.secret.items, defaultMode, `secret ${source.secret.name}`);
      } else if (source.downwardAPI) {
        for (const item of source.downwardAPI.items ?? []) {
          if (!item.fieldRef) throw new ContainerConfigError(`downwardAPI item ${item.path}: only fieldRef is supported by this node`);
          writeAtomic(path.join(dir, item.path), fieldRefValue(pod, item.fieldRef.fieldPath, deps.podIP, deps.hostIP), item.mode ?? defaultMode, fsGroup);
        }
      } else {
        throw new ContainerConfigError(`projected volume ${v.name}: a source this node does not support`);
      }
    }
  };

  try {
    for (const v of pod.spec?.volumes ?? []) {
      if (v.emptyDir) {
        const dir = ownDir('empty-dir', v.name);
        if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, undefined);
        else chmodSync(dir, 0o777);
        dirs.set(v.name, dir);
      } else if (v.persistentVolumeClaim) {
        const claimName = v.persistentVolumeClaim.claimName;
        const claim = await api.find<{ spec?: { volumeName?: string }; status?: { phase?: string } }>(
          `/api/v1/namespaces/${ns}/persistentvolumeclaims/${claimName}`,
        );
        if (!claim) throw new VolumeNotReady(`persistentvolumeclaim ${claimName} not found`);
        if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) throw new VolumeNotReady(`persistentvolumeclaim ${claimName} is not bound`);
        const pv = await api.get<{ spec?: { local?: { path: string }; hostPath?: { path: string } } }>(`/api/v1/persistentvolumes/${claim.spec.volumeName}`);
        const dir = pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
        if (!dir) throw new ContainerConfigError(`persistentvolume ${claim.spec.volumeName} is neither local nor hostPath: this node cannot attach it`);
        mkdirSync(dir, { recursive: true });
        if (fsGroup !== undefined && !v.persistentVolumeClaim.readOnly) applyFsGroup(dir, fsGroup, fsPolicy);
        dirs.set(v.name, dir);
      } else if (v.projected) {
        const dir = ownDir('projected', v.name);
        await projected(v, dir);
        dirs.set(v.name, dir);
      } else if (v.configMap) {
        const dir = ownDir('configmap', v.name);
        const data = await configMap(v.configMap.name ?? '');
        if (!data && !v.configMap.optional) throw new VolumeNotReady(`configmap ${ns}/${v.configMap.name} not found`);
        writeItems(dir, data ?? {}, v.configMap.items, v.configMap.defaultMode ?? 0o644, `configmap ${v.configMap.name}`);
        dirs.set(v.name, dir);
      } else if (v.secret) {
        const dir = ownDir('secret', v.name);
        const data = await secret(v.secret.secretName ?? '');
        if (!data && !v.secret.optional) throw new VolumeNotReady(`secret ${ns}/${v.secret.secretName} not found`);
        writeItems(dir, data ?? {}, v.secret.items, v.secret.defaultMode ?? 0o644, `secret ${v.secret.secretName}`);
        dirs.set(v.name, dir);
      } else if (v.downwardAPI) {
        const dir = ownDir('downward-api', v.name);
        await projected({ name: v.name, projected: { sources: [{ downwardAPI: v.downwardAPI }], defaultMode: v.downwardAPI.defaultMode ?? 0o644 } }, dir);
        dirs.set(v.name, dir);
      } else {
        throw new ContainerConfigError(`volume ${v.name}: only emptyDir, persistentVolumeClaim, projected, configMap, secret and downwardAPI volumes run on this node`);
      }
    }
  } catch (err) {
    for (const t of timers) clearTimeout(t);
    throw err;
  }

  return {
    mountsFor(volumeMounts) {
      return (volumeMounts ?? []).map((m) => {
        const dir = dirs.get(m.name);
        if (dir === undefined) throw new ContainerConfigError(`volumeMount ${m.name} names no volume of the pod`);
        const hostPath = m.subPath ? path.join(dir, m.subPath) : dir;
        if (m.subPath && !path.resolve(hostPath).startsWith(dir + path.sep)) throw new ContainerConfigError(`subPath ${m.subPath} leaves its volume`);
        if (m.subPath) mkdirSync(hostPath, { recursive: true });
        return { mountPath: m.mountPath, hostPath, readOnly: m.readOnly ?? false };
      });
    },
    release() {
      for (const t of timers) clearTimeout(t);
      for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
