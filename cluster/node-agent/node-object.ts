// The Node object and its heartbeat, as the kubelet keeps them: registration (pkg/kubelet/kubelet_node_status.go
// registerWithAPIServer / initialNode), a Lease in kube-node-lease renewed every 10 s (pkg/kubelet/kubelet.go
// `nodeLeaseRenewIntervalFraction` 0.25 of the 40 s lease duration; component-helpers apimachinery/lease
// controller.go), and the status with its conditions re-sent now and then. The node lifecycle controller reads the
// Lease and the Ready condition (node-monitor-grace-period 50 s); the scheduler reads allocatable and the taints.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { INode } from 'kubernetes-models/v1/Node';
import { ApiError, type KubeApi } from './kube-api.ts';

export const LEASE_DURATION_SECONDS = 40;
export const LEASE_RENEW_MS = 10_000;
/** The kubelet re-sends an unchanged status every 5 min (nodeStatusReportFrequency); a minute is enough here. */
export const STATUS_REPORT_MS = 60_000;

/** RFC 3339 with microseconds: the Lease's MicroTime fields refuse anything else. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

export interface NodeIdentity {
  name: string;
  internalIP: string;
  podCIDR: string;
  /** The API server's version, reported as the kubelet's (the two come from the same release here). */
  version: string;
  maxPods: number;
}

/** `since`: when the agent started (the conditions' lastTransitionTime: they have not changed since). */
export function nodeStatus(id: NodeIdentity, at: Date, since: Date): NonNullable<INode['status']> {
  const ts = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sinceTs = since.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const capacity = {
    cpu: String(os.availableParallelism()),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: String(id.maxPods),
    'ephemeral-storage': '20Gi',
  };
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: ts, lastTransitionTime: sinceTs });
  return {
    capacity,
    allocatable: capacity,
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'rollcall node agent is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: id.internalIP },
      { type: 'Hostname', address: id.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: readOr('/etc/machine-id', randomUUID().replace(/-/g, '')),
      systemUUID: readOr('/sys/class/dmi/id/product_uuid', randomUUID()),
      bootID: readOr('/proc/sys/kernel/random/boot_id', randomUUID()),
      kernelVersion: os.release(),
      osImage: readOr('/etc/os-release', '').match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? 'Linux',
      containerRuntimeVersion: 'rollcall-node-agent://1.0.0',
      kubeletVersion: id.version,
      kubeProxyVersion: id.version,
      operatingSystem: 'linux',
      architecture: os.arch() === 'x64' ? 'amd64' : os.arch(),
    },
  } as NonNullable<INode['status']>;
}

/** Creates the Node (or takes over the existing one) and sends its status. */
export async function registerNode(api: KubeApi, id: NodeIdentity, since: Date): Promise<string | undefined> {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: id.name,
      labels: {
        'kubernetes.io/hostname': id.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': os.arch() === 'x64' ? 'amd64' : os.arch(),
        'node.kubernetes.io/instance-type': 'rollcall-node-agent',
      },
    },
    spec: { podCIDR: id.podCIDR, podCIDRs: [id.podCIDR] },
  };
  try {
    await api.request('POST', '/api/v1/nodes', node);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
  return reportStatus(api, id, since);
}

/** Sends the status; answers the Node's uid. */
export async function reportStatus(api: KubeApi, id: NodeIdentity, since: Date): Promise<string | undefined> {
  const res = await api.request<INode>('PATCH', `/api/v1/nodes/${id.name}/status`, { status: nodeStatus(id, new Date(), since) }, 'strategic');
  return res.metadata?.uid;
}

/** One renewal of the node's Lease (created on first use, as the kubelet's lease controller does). */
export async function renewLease(api: KubeApi, nodeName: string, nodeUid: string | undefined): Promise<void> {
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`;
  const existing = await api.find<{ metadata: Record<string, unknown>; spec: Record<string, unknown> }>(leasePath);
  const spec = { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(new Date()) };
  if (!existing) {
    await api.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: nodeName,
        namespace: 'kube-node-lease',
        // Owned by the Node, so the garbage collector removes the Lease with it (the kubelet sets the same).
        ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] } : {}),
      },
      spec,
    });
    return;
  }
  await api.request('PUT', leasePath, { ...existing, spec: { ...existing.spec, ...spec } });
}
