// A network namespace per pod, the way a routed CNI plugin (Calico's) wires one: a veth pair, the pod's end named
// eth0 with the pod IP as a /32 and a default route through a link-local gateway, the node's end holding that
// gateway address and a /32 route to the pod. So every pod listens on its own address and port (three replicas all
// bind 0.0.0.0:5000 as in a cluster), the node reaches each pod IP (probes, EndpointSlices, kube-proxy's DNAT), and
// pods reach the node's addresses and Service IPs through it. No bridge, no NAT, no CNI binary: `ip` from iproute2.
// Runs where the agent runs (the control plane's network namespace); needs CAP_NET_ADMIN there.
// https://docs.tigera.io/calico/latest/reference/faq#why-does-my-container-have-a-route-to-16925411
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The gateway every pod routes through: the node's end of each veth holds it (Calico uses the same address). */
export const POD_GATEWAY = '169.254.1.1';

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: 10_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Interface and namespace names from the pod's uid (IFNAMSIZ is 16 bytes: at most 15 characters). */
export function podNetNames(uid: string): { netns: string; hostIf: string } {
  const short = uid.replace(/-/g, '').slice(0, 10);
  return { netns: `rollcall-pod-${short}`, hostIf: `rcv${short}` };
}

export function netnsPath(netns: string): string {
  return `/run/netns/${netns}`;
}

/**
 * A namespace's own configuration files: `ip netns exec` runs its program in a new mount namespace with each file of
 * /etc/netns/<name>/ bind-mounted over the one of the same name in /etc (ip-netns(8)), which is how a pod gets its
 * own /etc/resolv.conf (and hosts, nsswitch.conf) while its processes share this machine's filesystem.
 */
export function netnsEtcDir(netns: string): string {
  return `/etc/netns/${netns}`;
}

/** Writes the pod's /etc files (name → content) for its network namespace; tearDownPodNetwork removes them. */
export function writePodEtcFiles(uid: string, files: Record<string, string>): void {
  const dir = netnsEtcDir(podNetNames(uid).netns);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const [name, content] of Object.entries(files)) writeFileSync(`${dir}/${name}`, content, { mode: 0o644 });
}

/** Creates (or re-creates) the pod's namespace with `podIP`. Idempotent: a leftover of the same pod is removed first. */
export async function setUpPodNetwork(uid: string, podIP: string): Promise<{ netns: string }> {
  const { netns, hostIf } = podNetNames(uid);
  await tearDownPodNetwork(uid);
  await ip('netns', 'add', netns);
  await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
  await ip('addr', 'add', `${POD_GATEWAY}/32`, 'dev', hostIf);
  await ip('link', 'set', hostIf, 'up');
  await ip('route', 'replace', `${podIP}/32`, 'dev', hostIf);
  await ip('-n', netns, 'link', 'set', 'lo', 'up');
  await ip('-n', netns, 'addr', 'add', `${podIP}/32`, 'dev', 'eth0');
  await ip('-n', netns, 'link', 'set', 'eth0', 'up');
  await ip('-n', netns, 'route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link');
  await ip('-n', netns, 'route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0');
  return { netns };
}

/** Removes the namespace (its eth0 and so the veth pair and the route go with it). Missing pieces are fine. */
export async function tearDownPodNetwork(uid: string): Promise<void> {
  const { netns, hostIf } = podNetNames(uid);
  await ip('link', 'del', hostIf).catch(() => undefined);
  await ip('netns', 'del', netns).catch(() => undefined);
  rmSync(netnsEtcDir(netns), { recursive: true, force: true });
}

/**
 * A `local` route covering the pod CIDR (a namespace prepared for pods that bind their address in the node's own
 * namespace) would deliver pod traffic to the node itself instead of routing it into each pod's namespace: the
 * local table is looked up before the main one. The agent owns pod networking on its node, so it removes such a
 * route and says so. Answers the routes removed.
 */
export async function removeLocalPodRoutes(podCIDR: string): Promise<string[]> {
  const { stdout } = await run('ip', ['-4', 'route', 'show', 'table', 'local', 'type', 'local'], { timeout: 10_000 });
  const removed: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^local\s+(\S+)\s+dev\s+(\S+)/.exec(line.trim());
    if (!m?.[1] || !m[2]) continue;
    const dest = m[1].includes('/') ? m[1] : `${m[1]}/32`;
    if (dest !== podCIDR) continue;
    await ip('route', 'del', 'local', dest, 'dev', m[2], 'table', 'local');
    removed.push(line.trim());
  }
  return removed;
}

/** The node forwards between pods and its own addresses: IPv4 forwarding on in the agent's namespace. */
export function enableForwarding(): void {
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}

/**
 * Pod IPs from a CIDR (a /16 by default: 10.88.0.0/16), handed out round-robin after the last one given, as the
 * CNI host-local IPAM plugin does (a freed address is not reused at once, so a stale EndpointSlice entry never points
 * at a new pod); the network address, the first host address (left to the node, as bridge CNIs keep .1 for the
 * gateway) and the broadcast are never used.
 */
export class PodIPAllocator {
  readonly #base: number;
  readonly #size: number;
  readonly #used = new Map<string, string>();
  #last = 0;

  constructor(cidr: string) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!m) throw new Error(`pod CIDR ${cidr} is not an IPv4 a.b.c.d/n`);
    const bits = Number(m[5]);
    if (bits < 8 || bits > 30) throw new Error(`pod CIDR ${cidr}: prefix must be /8../30`);
    const addr = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
    this.#size = 2 ** (32 - bits);
    this.#base = addr - (addr % this.#size);
  }

  static format(n: number): string {
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }

  contains(ipAddr: string): boolean {
    const p = ipAddr.split('.').map(Number);
    if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return false;
    const n = (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
    return n > this.#base + 1 && n < this.#base + this.#size - 1;
  }

  /** Keeps a pod's address across agent restarts (its status already names it). */
  claim(owner: string, ipAddr: string): boolean {
    if (!this.contains(ipAddr)) return false;
    for (const [ip, who] of this.#used) if (ip === ipAddr && who !== owner) return false;
    this.#used.set(ipAddr, owner);
    return true;
  }

  allocate(owner: string): string {
    for (const [ip, who] of this.#used) if (who === owner) return ip;
    const first = this.#base + 2;
    const count = this.#size - 3;
    for (let i = 0; i < count; i++) {
      const n = first + ((Math.max(this.#last - first + 1, 0) + i) % count);
      const candidate = PodIPAllocator.format(n);
      if (!this.#used.has(candidate)) {
        this.#used.set(candidate, owner);
        this.#last = n;
        return candidate;
      }
    }
    throw new Error('the pod CIDR has no free address');
  }

  release(owner: string): void {
    for (const [ip, who] of this.#used) if (who === owner) this.#used.delete(ip);
  }
}
