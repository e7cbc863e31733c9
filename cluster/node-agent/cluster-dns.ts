// The cluster DNS, run by the node agent where a cluster runs CoreDNS: it watches every Service and EndpointSlice
// (list, then watch, as CoreDNS's kubernetes plugin does through client-go informers), answers from the records
// dns-records.ts builds (the Kubernetes DNS specification), and is published as kubeadm publishes CoreDNS: the
// Service `kube-system/kube-dns` with a fixed ClusterIP (10.96.0.10, the tenth address of the Service range, as
// kubeadm picks it) whose EndpointSlice points at this node's address, so pods reach it through kube-proxy at the
// address the kubelet writes into their resolv.conf. Names outside the cluster domain are NXDOMAIN: nothing here
// has a resolver to forward to.
// https://kubernetes.io/docs/tasks/administer-cluster/dns-custom-nameservers/
import type { IEndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import type { IService } from 'kubernetes-models/v1/Service';
import { buildRecords, inZone, lookup, type ZoneRecords } from './dns-records.ts';
import { startDnsServer, type DnsServer, type Lookup } from './dns-server.ts';
import { ApiError, type KubeApi } from './kube-api.ts';

export interface ClusterDnsOptions {
  /** May list and watch Services and EndpointSlices (and, with `serviceIP`, write the kube-dns Service). */
  api: KubeApi;
  /** Where it listens, UDP and TCP: the node's address in the control plane's network namespace. */
  address: string;
  port?: number;
  zone?: string;
  /** Publish it as the Service kube-system/kube-dns with this ClusterIP (pods then use that address). */
  serviceIP?: string;
  nodeName: string;
  log: (msg: string) => void;
}

export interface ClusterDns {
  /** The address pods are given as their nameserver: the Service's ClusterIP, else the listening address. */
  nameserver: string;
  zone: string;
  server: DnsServer;
  stop(): Promise<void>;
}

/** The objects seen so far, by namespace/name; records are rebuilt on the next query after a change. */
class Objects<T extends { metadata?: { namespace?: string; name?: string } }> {
  readonly items = new Map<string, T>();
  synced = false;
  key = (o: T): string => `${o.metadata?.namespace}/${o.metadata?.name}`;
}

export async function startClusterDns(opts: ClusterDnsOptions, signal: AbortSignal): Promise<ClusterDns> {
  const zone = opts.zone ?? 'cluster.local';
  const services = new Objects<IService>();
  const slices = new Objects<IEndpointSlice>();
  let records: ZoneRecords | undefined;
  const changed = (): void => {
    records = undefined;
  };

  const watch = <T extends { metadata?: { namespace?: string; name?: string; resourceVersion?: string } }>(path: string, into: Objects<T>, what: string): Promise<void> =>
    opts.api.listWatch<T>(
      path,
      {},
      {
        onSync: (items) => {
          into.items.clear();
          for (const o of items) into.items.set(into.key(o), o);
          into.synced = true;
          changed();
        },
        onEvent: (e) => {
          if (e.type === 'DELETED') into.items.delete(into.key(e.object));
          else into.items.set(into.key(e.object), e.object);
          changed();
        },
        onError: (err) => opts.log(`cluster DNS: ${what} watch: ${err.message}`),
      },
      signal,
    );
  const watches = [watch('/api/v1/services', services, 'Service'), watch('/apis/discovery.k8s.io/v1/endpointslices', slices, 'EndpointSlice')];

  const answer: Lookup = (qname, qtype) => {
    // Until both lists have arrived an NXDOMAIN could be wrong: the resolver gets SERVFAIL and retries.
    if (!services.synced || !slices.synced) throw new Error('not synced yet');
    records ??= buildRecords([...services.items.values()], [...slices.items.values()], zone);
    return { ...lookup(records, qname, qtype), authority: inZone(records, qname) ? { zone: records.zone } : undefined };
  };
  const server = await startDnsServer({ address: opts.address, port: opts.port ?? 53, lookup: answer, onError: (err) => opts.log(`cluster DNS: ${err.message}`) });

  let nameserver = opts.address;
  if (opts.serviceIP) {
    if (server.port !== 53) throw new Error(`the kube-dns Service needs the DNS on port 53, not ${server.port}`);
    await publishService(opts.api, opts.serviceIP, opts.address, opts.nodeName);
    nameserver = opts.serviceIP;
  }
  // The first lists, so the first pod's first lookup is answered from them.
  const deadline = Date.now() + 30_000;
  while (!(services.synced && slices.synced) && Date.now() < deadline && !signal.aborted) await new Promise((r) => setTimeout(r, 100));
  opts.log(`cluster DNS for ${zone} on ${opts.address}:${server.port} (udp, tcp)${opts.serviceIP ? `, Service kube-system/kube-dns ${opts.serviceIP}` : ''}`);

  return {
    nameserver,
    zone,
    server,
    async stop() {
      await server.close();
      await Promise.allSettled(watches);
    },
  };
}

/**
 * The Service kube-system/kube-dns (the name and labels kubeadm gives CoreDNS's, so clients that look for it find
 * it) without a selector, and its EndpointSlice naming this node's address: there is no DNS pod to select, the agent
 * itself answers. Applied server-side (idempotent, an agent restart re-applies the same objects).
 */
async function publishService(api: KubeApi, serviceIP: string, address: string, nodeName: string): Promise<void> {
  const apply = (path: string, body: unknown): Promise<unknown> => api.request('PATCH', `${path}?fieldManager=rollcall-node-agent&force=true`, body, 'apply');
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ];
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' };
  try {
    await apply('/api/v1/namespaces/kube-system/services/kube-dns', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
      spec: { clusterIP: serviceIP, ports: ports.map((p) => ({ ...p, targetPort: 53 })) },
    });
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) throw new Error(`the kube-dns Service cannot have the ClusterIP ${serviceIP}: ${err.message}`);
    throw err;
  }
  await apply(`/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-${nodeName}`, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `kube-dns-${nodeName}`,
      namespace: 'kube-system',
      // kube-proxy reads slices by their Service's name; managed-by keeps the EndpointSlice controller's hands off.
      labels: { ...labels, 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'rollcall-node-agent' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true }, nodeName }],
    ports,
  });
}
