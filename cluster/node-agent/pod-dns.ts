// A pod's name resolution files, as the kubelet and the container runtime write them: /etc/resolv.conf from the pod's
// dnsPolicy and dnsConfig (kubernetes pkg/kubelet/network/dns/dns.go, Configurer.GetPodDNS), /etc/hosts with the
// pod's own names (pkg/kubelet/kubelet_pods.go, managedHostsFileContent and GeneratePodHostNameAndDomain), and the
// image's /etc/nsswitch.conf. Pure: pod-network.ts puts them where `ip netns exec` mounts them for the container.
import type { IPod } from 'kubernetes-models/v1/Pod';

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface NodeDnsSettings {
  /** The kubelet's --cluster-dns: the cluster DNS Service's address(es). Empty: ClusterFirst falls back to Default. */
  clusterDNS: string[];
  /** The kubelet's --cluster-domain. */
  clusterDomain: string;
  /** The node's own resolver configuration (the kubelet's --resolv-conf, /etc/resolv.conf), parsed. */
  host: DnsConfig;
}

// pkg/apis/core/validation/validation.go: MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars.
const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_LIST_CHARS = 2048;
/** utilvalidation.DNS1123SubdomainMaxLength: dns.go drops longer search paths (glibc 2.28 aborts on them). */
const MAX_SEARCH_PATH_LENGTH = 253;

const unique = (xs: string[]): string[] => [...new Set(xs)];

/** A resolv.conf's nameservers, search list and options (dns.go parseResolvConf: the last `search` line wins). */
export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...fields] = line.split(/\s+/);
    if (key === 'nameserver' && fields[0]) out.servers.push(fields[0]);
    else if (key === 'search') out.searches = fields.map((s) => s.replace(/\.$/, ''));
    else if (key === 'options') out.options = mergeOptions(out.options, fields);
  }
  return out;
}

/** Options by name, a later one replacing an earlier one of the same name (dns.go appendOptions / mergeDNSOptions). */
function mergeOptions(existing: string[], added: string[]): string[] {
  const byName = new Map<string, string>();
  for (const o of [...existing, ...added]) byName.set(o.split(':')[0] ?? o, o);
  return [...byName.values()];
}

/**
 * The pod's resolver configuration (dns.go GetPodDNS): ClusterFirst (the default, and ClusterFirstWithHostNet)
 * makes the cluster DNS the only nameserver, with the search list `<ns>.svc.<domain> svc.<domain> <domain>` before
 * the node's own (generateSearchesForDNSClusterFirst) and `options ndots:5` (defaultDNSOptions); Default takes the
 * node's configuration; None starts empty. The pod's spec.dnsConfig is then appended (appendDNSConfig), and the
 * result cut to the API's limits (formDNSConfigFitsLimits).
 */
export function podDnsConfig(pod: IPod, node: NodeDnsSettings): DnsConfig {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  let config: DnsConfig = { servers: [...node.host.servers], searches: [...node.host.searches], options: [...node.host.options] };
  if (policy === 'None') config = { servers: [], searches: [], options: [] };
  else if ((policy === 'ClusterFirst' && !pod.spec?.hostNetwork) || policy === 'ClusterFirstWithHostNet') {
    if (node.clusterDNS.length > 0) {
      const domain = node.clusterDomain;
      const clusterSearch = domain ? [`${pod.metadata?.namespace}.svc.${domain}`, `svc.${domain}`, domain] : [];
      config = { servers: [...node.clusterDNS], searches: unique([...clusterSearch, ...node.host.searches]), options: ['ndots:5'] };
    }
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    config.servers = unique([...config.servers, ...(extra.nameservers ?? [])]);
    config.searches = unique([...config.searches, ...(extra.searches ?? [])]);
    config.options = mergeOptions(
      config.options,
      (extra.options ?? []).filter((o) => o.name).map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : (o.name ?? ''))),
    );
  }
  config.servers = config.servers.slice(0, MAX_NAMESERVERS);
  let searches = config.searches.slice(0, MAX_SEARCH_PATHS).filter((s) => s.length <= MAX_SEARCH_PATH_LENGTH);
  while (searches.length > 0 && searches.join(' ').length > MAX_SEARCH_LIST_CHARS) searches = searches.slice(0, -1);
  config.searches = searches;
  return config;
}

/** resolv.conf(5) text, in the order a container runtime writes it (search, nameservers, options). */
export function resolvConf(config: DnsConfig): string {
  const lines: string[] = [];
  if (config.searches.length > 0) lines.push(`search ${config.searches.join(' ')}`);
  for (const s of config.servers) lines.push(`nameserver ${s}`);
  if (config.options.length > 0) lines.push(`options ${config.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/**
 * The kubelet-managed /etc/hosts: localhost, then the pod's address with its hostname (spec.hostname, else the pod's
 * name) and, when spec.subdomain is set, its fully qualified `<hostname>.<subdomain>.<ns>.svc.<domain>` first.
 */
export function hostsFile(pod: IPod, podIP: string, clusterDomain: string): string {
  const hostname = (pod.spec?.hostname || pod.metadata?.name || '').slice(0, 63);
  const sub = pod.spec?.subdomain;
  const domain = sub && clusterDomain ? `${sub}.${pod.metadata?.namespace}.svc.${clusterDomain}` : '';
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    domain ? `${podIP}\t${hostname}.${domain}\t${hostname}` : `${podIP}\t${hostname}`,
    '',
  ].join('\n');
}

/**
 * The image's /etc/nsswitch.conf (Debian's, in node:24-slim): hosts from files, then DNS. The node's own may put
 * mDNS first (`mdns4_minimal [NOTFOUND=return]`, which claims every `.local` name, cluster.local included), which a
 * container never sees.
 */
export const IMAGE_NSSWITCH = ['passwd:         files', 'group:          files', 'shadow:         files', 'hosts:          files dns', 'networks:       files', 'protocols:      db files', 'services:       db files', 'ethers:         db files', 'rpc:            db files', ''].join('\n');
