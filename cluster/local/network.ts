// The control plane's network namespace and its veth link to the host (addresses in layout.ts), made with iproute2.
// Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN in the host's namespaces, for `ip netns add` and the veth on the host).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Layout } from './layout.ts';

const exec = promisify(execFile);

export async function ip(args: string[]): Promise<string> {
  try {
    return (await exec('ip', args)).stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the ip command is missing: install iproute2 (apt-get install iproute2)');
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

export const netnsPath = (l: Layout) => `/run/netns/${l.netns}`;

/** The argv prefix that runs a command inside the namespace (nsenter execs it: the PID is the command's own). */
export const inNamespace = (l: Layout): string[] => ['nsenter', `--net=${netnsPath(l)}`, '--'];

/**
 * As inNamespace, for a process that stands in for a pod and must resolve the cluster's names (the Argo Rollouts
 * analysis controller's web metric fetches `*.svc.cluster.local` URLs): a private mount namespace of its own in which
 * `resolvConf` (a pod's resolv.conf: cluster-dns.ts's nameserver, pod-dns.ts's search list) is mounted over
 * /etc/resolv.conf, as `ip netns exec` does with /etc/netns/NAME/resolv.conf and the kubelet with a pod's. The host's
 * file is untouched. unshare and sh exec too: the PID is still the command's own.
 */
export const inNamespaceWithResolvConf = (netnsFile: string, resolvConf: string): string[] => [
  'nsenter',
  `--net=${netnsFile}`,
  '--',
  'unshare',
  '--mount',
  '--propagation',
  'private',
  '--',
  'sh',
  '-c',
  'mount --bind "$0" /etc/resolv.conf && exec "$@"',
  resolvConf,
];

export function namespaceExists(l: Layout): boolean {
  return existsSync(netnsPath(l));
}

/** The commands that make the namespace, in order. */
export function setupCommands(l: Layout): string[][] {
  const ns = ['-n', l.netns];
  return [
    ['netns', 'add', l.netns],
    ['link', 'add', l.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', l.netns],
    ['addr', 'add', `${l.hostAddress}/${l.transitPrefix}`, 'dev', l.hostVeth],
    ['link', 'set', l.hostVeth, 'up'],
    [...ns, 'link', 'set', 'lo', 'up'],
    [...ns, 'addr', 'add', `${l.address}/${l.transitPrefix}`, 'dev', 'eth0'],
    [...ns, 'link', 'set', 'eth0', 'up'],
    // A default route, so a connect() to a ClusterIP finds a route before kube-proxy's DNAT in the output hook.
    [...ns, 'route', 'add', 'default', 'via', l.hostAddress],
    // Every pod address is local to the namespace: a node agent binds 10.88.x.y without creating an interface.
    [...ns, 'route', 'add', 'local', l.podCidr, 'dev', 'lo'],
  ];
}

export async function createNamespace(l: Layout): Promise<void> {
  if (namespaceExists(l)) throw new Error(`network namespace ${l.netns} exists already: run \`npm run cluster -- down\` (or \`ip netns del ${l.netns}\`)`);
  try {
    for (const args of setupCommands(l)) await ip(args);
  } catch (error) {
    await deleteNamespace(l);
    throw error;
  }
}

/** Deletes the namespace (which deletes the veth pair with it); a missing one is fine. */
export async function deleteNamespace(l: Layout): Promise<void> {
  if (namespaceExists(l)) await ip(['netns', 'del', l.netns]);
  // The host end goes with its peer; a half-made setup may have left it without one.
  await ip(['link', 'del', l.hostVeth]).catch(() => {});
}
