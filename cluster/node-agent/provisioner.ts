// A small dynamic provisioner: a default StorageClass whose claims become directories on this node. It does what an
// external provisioner does (kubernetes-sigs/sig-storage-lib-external-provisioner controller.go shouldProvision /
// provisionClaimOperation / deleteVolumeOperation), with a `local` PersistentVolume per claim instead of a cloud disk:
//  - the PV controller of kube-controller-manager marks each claim of the class with
//    `volume.kubernetes.io/storage-provisioner: <our name>` (pkg/controller/volume/persistentvolume/pv_controller.go
//    setClaimProvisioner) and waits for someone to create the volume;
//  - with `volumeBindingMode: WaitForFirstConsumer` the scheduler first picks a node for the claim's pod and writes
//    it into `volume.kubernetes.io/selected-node` (pkg/scheduler/framework/plugins/volumebinding); each node agent
//    provisions only the claims selected to its own node, so the directory is where the pod will run;
//  - we create a PV with `claimRef` set to the claim and a node affinity to this node; the PV controller binds both.
//  - a released PV of ours with reclaimPolicy Delete has its directory removed and is deleted.
// WaitForFirstConsumer rather than Immediate: the volume is a directory on one node, so it must be made on the node
// the scheduler chose for the pod (as local-path-provisioner and every local-volume class do); with Immediate, a
// volume made first would pin the pod to whichever node made it, ignoring the pod's other constraints.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ApiError, type KubeApi } from './kube-api.ts';

export const PROVISIONER_NAME = 'rollcall.dev/hostpath';
export const STORAGE_CLASS_NAME = 'rollcall-local';
const ANN_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';

interface Claim {
  metadata: { name: string; namespace: string; uid: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: { volumeName?: string; storageClassName?: string; accessModes?: string[]; volumeMode?: string; resources?: { requests?: { storage?: string } } };
  status?: { phase?: string };
}

interface Volume {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: {
    persistentVolumeReclaimPolicy?: string;
    local?: { path: string };
    nodeAffinity?: { required?: { nodeSelectorTerms?: { matchExpressions?: { key: string; values?: string[] }[] }[] } };
  };
  status?: { phase?: string };
}

export interface ProvisionerOptions {
  /** An identity allowed to create PersistentVolumes and the StorageClass (the node's own is not: NodeRestriction). */
  api: KubeApi;
  nodeName: string;
  /** Volumes live in <stateDir>/volumes/<pv name>. */
  stateDir: string;
  provisioner?: string;
  storageClass?: string;
  log: (msg: string) => void;
}

/** The default StorageClass for our provisioner, created if missing (an existing one is left as it is). */
export async function ensureStorageClass(api: KubeApi, name: string, provisioner: string): Promise<void> {
  try {
    await api.request('POST', '/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
}

/** The PV for a claim: named pvc-<claim uid> as external provisioners name them, bound to the claim by claimRef. */
export function volumeFor(claim: Claim, opts: { provisioner: string; storageClass: string; nodeName: string; dir: string }): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pvc-${claim.metadata.uid}`, annotations: { [ANN_PROVISIONED_BY]: opts.provisioner } },
    spec: {
      capacity: { storage: claim.spec.resources?.requests?.storage ?? '1Gi' },
      accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
      volumeMode: claim.spec.volumeMode ?? 'Filesystem',
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: opts.storageClass,
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
      local: { path: opts.dir },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [opts.nodeName] }] }] } },
    },
  };
}

/** Whether this node should provision the claim (sig-storage-lib-external-provisioner shouldProvision). */
export function shouldProvision(claim: Claim, provisioner: string, nodeName: string): boolean {
  const ann = claim.metadata.annotations ?? {};
  if (claim.spec.volumeName) return false;
  if (ann[ANN_PROVISIONER] !== provisioner && ann['volume.beta.kubernetes.io/storage-provisioner'] !== provisioner) return false;
  // WaitForFirstConsumer: only once the scheduler has chosen this node.
  return ann[ANN_SELECTED_NODE] === nodeName;
}

function volumeNode(pv: Volume): string | undefined {
  return pv.spec.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.find((e) => e.key === 'kubernetes.io/hostname')?.values?.[0];
}

export async function runProvisioner(opts: ProvisionerOptions, signal: AbortSignal): Promise<void> {
  const provisioner = opts.provisioner ?? PROVISIONER_NAME;
  const storageClass = opts.storageClass ?? STORAGE_CLASS_NAME;
  const volumesDir = path.join(opts.stateDir, 'volumes');
  mkdirSync(volumesDir, { recursive: true, mode: 0o711 });
  await ensureStorageClass(opts.api, storageClass, provisioner);

  const provision = async (claim: Claim): Promise<void> => {
    if (!shouldProvision(claim, provisioner, opts.nodeName)) return;
    const name = `pvc-${claim.metadata.uid}`;
    const dir = path.join(volumesDir, name);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    try {
      await opts.api.request('POST', '/api/v1/persistentvolumes', volumeFor(claim, { provisioner, storageClass, nodeName: opts.nodeName, dir }));
      opts.log(`provisioned ${name} for ${claim.metadata.namespace}/${claim.metadata.name} at ${dir}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) opts.log(`provisioning ${name}: ${(err as Error).message}`);
    }
  };

  const reclaim = async (pv: Volume): Promise<void> => {
    if (pv.metadata.annotations?.[ANN_PROVISIONED_BY] !== provisioner) return;
    if (pv.status?.phase !== 'Released' || pv.spec.persistentVolumeReclaimPolicy !== 'Delete') return;
    if (volumeNode(pv) !== opts.nodeName) return;
    const dir = pv.spec.local?.path;
    // Only ever remove a directory this provisioner made.
    if (dir && path.dirname(path.resolve(dir)) === volumesDir) rmSync(dir, { recursive: true, force: true });
    try {
      await opts.api.request('DELETE', `/api/v1/persistentvolumes/${pv.metadata.name}`);
      opts.log(`deleted ${pv.metadata.name} (released, reclaimPolicy Delete)`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) opts.log(`deleting ${pv.metadata.name}: ${(err as Error).message}`);
    }
  };

  const onError = (err: Error): void => opts.log(`provisioner watch: ${err.message}`);
  await Promise.all([
    opts.api.listWatch<Claim>(
      '/api/v1/persistentvolumeclaims',
      {},
      {
        onSync: async (items) => {
          for (const c of items) await provision(c);
        },
        onEvent: async (e) => {
          if (e.type !== 'DELETED') await provision(e.object);
        },
        onError,
      },
      signal,
    ),
    opts.api.listWatch<Volume>(
      '/api/v1/persistentvolumes',
      {},
      {
        onSync: async (items) => {
          for (const v of items) await reclaim(v);
        },
        onEvent: async (e) => {
          if (e.type !== 'DELETED') await reclaim(e.object);
        },
        onError,
      },
      signal,
    ),
  ]);
}
