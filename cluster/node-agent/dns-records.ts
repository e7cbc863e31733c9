// The cluster DNS's records, from Services and EndpointSlices, as the Kubernetes DNS specification defines them
// (https://github.com/kubernetes/dns/blob/master/docs/specification.md, schema 1.0.1; section numbers below are the
// specification's). Pure: the node agent's cluster-dns.ts watches the objects and answers queries with `lookup`.
// IPv4 only, as the local cluster is (its Services and pods have IPv4 addresses): IPv6 and FQDN EndpointSlices are
// left out, and an AAAA question for a name that exists is answered with no record (NODATA), not NXDOMAIN.
import type { IEndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import type { IService } from 'kubernetes-models/v1/Service';

/** The schema version the records follow (2.2: the TXT record `dns-version.<zone>`). */
export const DNS_SCHEMA_VERSION = '1.0.1';
/** Seconds. The specification leaves it open; CoreDNS's kubernetes plugin answers with 5 by default. */
export const RECORD_TTL = 5;

export type DnsRecord =
  | { type: 'A'; name: string; address: string }
  | { type: 'SRV'; name: string; port: number; target: string }
  | { type: 'PTR'; name: string; target: string }
  | { type: 'TXT'; name: string; text: string }
  | { type: 'CNAME'; name: string; target: string };

export interface ZoneRecords {
  /** The cluster domain, lowercase, without the trailing dot (`cluster.local`). */
  zone: string;
  /** Every record by its owner name (lowercase, no trailing dot). */
  byName: Map<string, DnsRecord[]>;
  /** Names that own no record but have records below them (`svc.<zone>`, `<ns>.svc.<zone>`): NODATA, not NXDOMAIN. */
  interior: Set<string>;
}

export interface Answer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  records: DnsRecord[];
}

/** Names are compared case-insensitively (2.1) and written without the root's trailing dot. */
export const normalizeName = (name: string): string => name.toLowerCase().replace(/\.+$/, '');

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const isIPv4 = (s: string): boolean => IPV4.test(s);

/** `<d>.<c>.<b>.<a>.in-addr.arpa` for `<a>.<b>.<c>.<d>` (2.3.3, 2.4.3). */
export const reverseName = (ip: string): string => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;

/**
 * Whether an endpoint of a Service is _ready_ (2.1): the specification's terms are those of the Endpoints API (an
 * address in `addresses`, or the Service's `service.alpha.kubernetes.io/tolerate-unready-endpoints: "true"`); in an
 * EndpointSlice that is `conditions.ready`, where unset means ready (discovery/v1 EndpointConditions: "nil should be
 * interpreted as true"). `publishNotReadyAddresses` makes every endpoint ready: the EndpointSlice controller already
 * writes `ready: true` then (k8s.io/endpointslice utils.go podToEndpoint), and a slice written by anyone else is
 * read the same way.
 */
export function endpointReady(service: IService, endpoint: { conditions?: { ready?: boolean } }): boolean {
  if (service.spec?.publishNotReadyAddresses) return true;
  if (service.metadata?.annotations?.['service.alpha.kubernetes.io/tolerate-unready-endpoints'] === 'true') return true;
  return endpoint.conditions?.ready !== false;
}

/** A headless Service has `clusterIP: None` (2.4); an ExternalName one has none at all (2.5). */
function clusterIPs(service: IService): string[] {
  const spec = service.spec ?? {};
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter(isIPv4);
}

const isHeadless = (service: IService): boolean => service.spec?.clusterIP === 'None';

export function buildRecords(services: readonly IService[], slices: readonly IEndpointSlice[], zoneName = 'cluster.local'): ZoneRecords {
  const zone = normalizeName(zoneName);
  const byName = new Map<string, DnsRecord[]>();
  const add = (r: DnsRecord): void => {
    const name = normalizeName(r.name);
    const list = byName.get(name) ?? [];
    // One record per distinct data: overlapping slices (during the controller's updates) name an address twice.
    if (!list.some((x) => JSON.stringify({ ...x, name: '' }) === JSON.stringify({ ...r, name: '' }))) list.push({ ...r, name });
    byName.set(name, list);
  };

  // 2.2: the schema version.
  add({ type: 'TXT', name: `dns-version.${zone}`, text: DNS_SCHEMA_VERSION });

  const slicesOf = new Map<string, IEndpointSlice[]>();
  for (const s of slices) {
    // An EndpointSlice names its Service by this label (discovery/v1 LabelServiceName).
    const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
    if (!svc || s.addressType !== 'IPv4') continue;
    const key = `${s.metadata?.namespace}/${svc}`;
    slicesOf.set(key, [...(slicesOf.get(key) ?? []), s]);
  }

  for (const service of services) {
    const name = service.metadata?.name;
    const ns = service.metadata?.namespace;
    if (!name || !ns) continue;
    const serviceName = `${name}.${ns}.svc.${zone}`;
    // SRV records only for named ports (2.3.2, 2.4.2): `_<port>._<proto>.<service>.<ns>.svc.<zone>`.
    const namedPorts = (service.spec?.ports ?? []).filter((p) => p.name);
    const srvName = (p: { name?: string; protocol?: string }): string => `_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${serviceName}`;

    if (service.spec?.type === 'ExternalName') {
      // 2.5: a CNAME to the external name (this DNS forwards nowhere, so the target is left to the client).
      if (service.spec.externalName) add({ type: 'CNAME', name: serviceName, target: normalizeName(service.spec.externalName) });
      continue;
    }

    if (!isHeadless(service)) {
      // 2.3: a Service with a ClusterIP: A (2.3.1), SRV per named port (2.3.2), PTR per ClusterIP (2.3.3).
      const ips = clusterIPs(service);
      for (const ip of ips) {
        add({ type: 'A', name: serviceName, address: ip });
        add({ type: 'PTR', name: reverseName(ip), target: serviceName });
      }
      if (ips.length > 0) for (const p of namedPorts) add({ type: 'SRV', name: srvName(p), port: p.port, target: serviceName });
      continue;
    }

    // 2.4: a headless Service: for each ready endpoint an A record of the Service's name (2.4.1), an A record of
    // `<hostname>.<service>...` (2.4.1), a PTR to that name (2.4.3) and an SRV record per named port (2.4.2). No ready
    // endpoint: no record, so the name is NXDOMAIN (2.4.1).
    for (const slice of slicesOf.get(`${ns}/${name}`) ?? []) {
      for (const endpoint of slice.endpoints ?? []) {
        if (!endpointReady(service, endpoint)) continue;
        for (const address of endpoint.addresses.filter(isIPv4)) {
          // _hostname_ (2.1): the endpoint's `hostname` (the EndpointSlice controller sets it for a pod whose
          // spec.hostname is set and spec.subdomain names this Service: a StatefulSet's pods), else an identifier
          // unique within the Service; the address with dashes, as CoreDNS makes it.
          const hostname = endpoint.hostname ?? address.replace(/\./g, '-');
          const hostName = `${hostname}.${serviceName}`;
          add({ type: 'A', name: serviceName, address });
          add({ type: 'A', name: hostName, address });
          add({ type: 'PTR', name: reverseName(address), target: hostName });
          // The Service's port number, as 2.4.2 writes it (the rollcall headless Service's port equals its target).
          for (const p of namedPorts) add({ type: 'SRV', name: srvName(p), port: p.port, target: hostName });
        }
      }
    }
  }

  // Empty non-terminals: `svc.<zone>`, `<ns>.svc.<zone>`, the zone itself, the reverse zone's labels.
  const interior = new Set<string>();
  for (const owner of byName.keys()) {
    const top = owner.endsWith('.in-addr.arpa') ? 'in-addr.arpa' : zone;
    let n = owner;
    while (n !== top && n.includes('.')) {
      n = n.slice(n.indexOf('.') + 1);
      if (!byName.has(n)) interior.add(n);
    }
  }
  return { zone, byName, interior };
}

/** Whether a name is one this DNS is the authority for: the cluster domain and the reverse zone. */
export function inZone(records: ZoneRecords, qname: string): boolean {
  const name = normalizeName(qname);
  return name === records.zone || name.endsWith(`.${records.zone}`) || name === 'in-addr.arpa' || name.endsWith('.in-addr.arpa');
}

/**
 * The answer to one question. A name with records answers those of the asked type (a CNAME whatever the type, 2.5,
 * as a resolver then follows it); a name that exists without records of that type, or an empty non-terminal,
 * answers NOERROR with none (NODATA: glibc asks A and AAAA together, and an NXDOMAIN for AAAA would be a wrong
 * "does not exist"); anything else is NXDOMAIN. Nothing is forwarded: names outside the cluster do not exist here.
 */
export function lookup(records: ZoneRecords, qname: string, qtype: string): Answer {
  const name = normalizeName(qname);
  const own = records.byName.get(name);
  if (own) {
    const cname = own.filter((r) => r.type === 'CNAME');
    if (cname.length > 0) return { rcode: 'NOERROR', records: cname };
    return { rcode: 'NOERROR', records: qtype === 'ANY' ? own : own.filter((r) => r.type === qtype) };
  }
  // 2.6 (deprecated, still required): `<a>-<b>-<c>-<d>.<ns>.pod.<zone>` is an A record of that address, for any
  // namespace and any address (what CoreDNS's `pods insecure`, kubeadm's default, answers).
  const pod = new RegExp(`^(\\d+)-(\\d+)-(\\d+)-(\\d+)\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.pod\\.${records.zone.replace(/\./g, '\\.')}$`).exec(name);
  if (pod) {
    const address = pod.slice(1, 5).join('.');
    if (isIPv4(address)) return { rcode: 'NOERROR', records: qtype === 'A' || qtype === 'ANY' ? [{ type: 'A', name, address }] : [] };
  }
  if (records.interior.has(name) || name === records.zone) return { rcode: 'NOERROR', records: [] };
  return { rcode: 'NXDOMAIN', records: [] };
}
