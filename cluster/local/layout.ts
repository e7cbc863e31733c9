// Where everything of one local control plane lives: its addresses, ports and files. One pure function of the
// options, so the CLI, the API and the tests agree on every path without passing them around.
//
// Network: a network namespace of its own (pods need addresses outside 127.0.0.0/8, which EndpointSlices refuse:
// kubernetes `pkg/apis/discovery/validation/validation.go`, validateEndpoints → `ValidateEndpointIP`), joined to the
// host by a veth pair on a /24 transit network:
//   host  veth <name>  10.87.<subnet>.254  ←→  namespace eth0  10.87.<subnet>.1  (API server https://10.87.<subnet>.1:6443)
//   pods  10.88.0.0/16, routed `local` on the namespace's lo, so a node agent can bind any pod IP without an interface
//   services 10.96.0.0/16 (ClusterIPs, programmed by kube-proxy inside the namespace; 10.96.0.1 is `kubernetes`)
import path from 'node:path';

export interface LayoutOptions {
  /** Names the network namespace and the state directory; two control planes on a host need two names. */
  name?: string;
  /** The third octet of the transit network 10.87.<subnet>.0/24; two control planes on a host need two subnets. */
  subnet?: number;
  /** Where certificates, kubeconfigs, etcd's data and the logs go (default /var/tmp/rollcall-cluster/<name>). */
  stateDir?: string;
  /** The Node name the node kubeconfig authenticates as (system:node:<nodeName>). */
  nodeName?: string;
}

export interface Layout {
  name: string;
  netns: string;
  /** Host side of the veth pair (interface names are at most 15 bytes). */
  hostVeth: string;
  hostAddress: string;
  /** The control plane's address inside the namespace: the API server's advertise address, every component's bind. */
  address: string;
  transitPrefix: number;
  podCidr: string;
  serviceCidr: string;
  /** The `kubernetes` Service's ClusterIP: the first address of serviceCidr (kube-apiserver's default). */
  kubernetesServiceIp: string;
  clusterDomain: string;
  nodeName: string;
  apiserverUrl: string;
  ports: { etcdClient: number; etcdPeer: number; etcdMetrics: number; apiserver: number; controllerManager: number; scheduler: number; proxyHealthz: number; proxyMetrics: number };
  stateDir: string;
  pkiDir: string;
  etcdDataDir: string;
  logDir: string;
  stateFile: string;
  kubeconfigs: { admin: string; controllerManager: string; scheduler: string; node: string; kubeProxy: string };
  kubeProxyConfig: string;
}

export const DEFAULT_NAME = 'rollcall';
export const DEFAULT_STATE_ROOT = '/var/tmp/rollcall-cluster';

export function layout(options: LayoutOptions = {}): Layout {
  const name = options.name ?? DEFAULT_NAME;
  if (!/^[a-z][a-z0-9-]{0,9}$/.test(name)) throw new Error(`control plane name ${JSON.stringify(name)}: 1-10 characters a-z, 0-9, '-', starting with a letter`);
  const subnet = options.subnet ?? 0;
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) throw new Error(`subnet ${subnet}: an integer 0-255 (the third octet of 10.87.x.0/24)`);
  const stateDir = path.resolve(options.stateDir ?? path.join(DEFAULT_STATE_ROOT, name));
  const address = `10.87.${subnet}.1`;
  const ports = { etcdClient: 2379, etcdPeer: 2380, etcdMetrics: 2381, apiserver: 6443, controllerManager: 10257, scheduler: 10259, proxyHealthz: 10256, proxyMetrics: 10249 };
  const pkiDir = path.join(stateDir, 'pki');
  const kc = (file: string) => path.join(stateDir, 'kubeconfig', file);
  return {
    name,
    netns: name,
    hostVeth: `veth-${name}`,
    hostAddress: `10.87.${subnet}.254`,
    address,
    transitPrefix: 24,
    podCidr: '10.88.0.0/16',
    serviceCidr: '10.96.0.0/16',
    kubernetesServiceIp: '10.96.0.1',
    clusterDomain: 'cluster.local',
    nodeName: options.nodeName ?? `${name}-node`,
    apiserverUrl: `https://${address}:${ports.apiserver}`,
    ports,
    stateDir,
    pkiDir,
    etcdDataDir: path.join(stateDir, 'etcd'),
    logDir: path.join(stateDir, 'logs'),
    stateFile: path.join(stateDir, 'state.json'),
    kubeconfigs: { admin: kc('admin.yaml'), controllerManager: kc('controller-manager.yaml'), scheduler: kc('scheduler.yaml'), node: kc('node.yaml'), kubeProxy: kc('kube-proxy.yaml') },
    kubeProxyConfig: path.join(stateDir, 'kube-proxy.yaml'),
  };
}
