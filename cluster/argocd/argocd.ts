// Argo CD as processes against a control plane's kubeconfig, the way Argo CD's own developer guide runs it locally
// (docs/developer-guide/running-locally.md: ARGOCD_FAKE_IN_CLUSTER=true with KUBECONFIG, a local Redis, the repo
// server with --disable-tls and the controllers with --repo-server-plaintext): Redis (Debian's redis-server), the
// repo server, the application controller and the ApplicationSet controller. No API server, UI or Dex.
//
// Each component gets the environment its container has in Argo CD's install manifests (pod-env.ts, read from the
// module cache), so argocd-cm and argocd-cmd-params-cm act as in a real install, e.g. the controller's sync timeout
// (left at Argo CD's default unless a test sets `controller.sync.timeout.seconds`). Flags are added only for what a
// pod gets from the cluster network and its service account: the Redis and repo server addresses (Services there),
// listen ports on loopback, and the namespace. Processes are children of this one, stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { findGo } from '../go-build.ts';
import { argocdBinary, kustomizeBinary, rolloutsBinary } from './build.ts';
import type { ApiClient } from '../local/api.ts';
import { argocdModuleDir, installArgoCD, installRolloutsCrds, readConfig, rolloutsModuleDir } from './install.ts';
import { containerEnv, type EnvVar } from './pod-env.ts';

export type Component = 'redis' | 'argocd-repo-server' | 'argocd-application-controller' | 'argocd-applicationset-controller' | 'rollouts-controller';

/** Where each component's container is declared in Argo CD's module (manifests/base/...). */
const MANIFESTS: Partial<Record<Component, string>> = {
  'argocd-repo-server': 'repo-server/argocd-repo-server-deployment.yaml',
  'argocd-application-controller': 'application-controller/argocd-application-controller-statefulset.yaml',
  'argocd-applicationset-controller': 'applicationset-controller/argocd-applicationset-controller-deployment.yaml',
};

export interface ArgoCDOptions {
  /** The control plane's admin kubeconfig (the components' identity). */
  kubeconfig: string;
  /** An API client as the same identity (installs, settings). */
  api: ApiClient;
  /** Logs, Redis' directory and the repo server's temporary checkouts go here. */
  workDir: string;
  /** Argo CD's namespace (default argocd, as argocd/settings/source.yaml says). */
  namespace?: string;
  /** Also run the Argo Rollouts analysis controller (and install its CRDs). */
  analysisController?: boolean;
  /** A prefix for the commands of components that must reach pod or Service addresses (e.g. nsenter into the cluster's network namespace); the analysis controller's web metrics do. */
  clusterNetwork?: string[];
  /** How long each component may take to answer (default 60 s). */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface RunningComponent {
  component: Component;
  pid: number;
  log: string;
  /** Set once the process has exited. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

export interface ArgoCD {
  namespace: string;
  components: RunningComponent[];
  /** Milliseconds from the start of startArgoCD (binaries at hand) to every component answering. */
  readyAfterMs: number;
  /** Stops one component and starts it again with the environment recomputed (after a settings change). */
  restart(component: Component): Promise<void>;
  /** Stops every component by PID (SIGTERM, then SIGKILL after 10 s). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * `count` distinct free TCP ports on loopback: all bound at once, then released (the components bind them a moment
 * later). Bound one after the other, the kernel may hand out the same released port twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject).listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The env list of `container` in a manifest file of Argo CD's module. */
export function manifestEnv(manifestYaml: string, container: string): EnvVar[] {
  const doc = parse(manifestYaml) as { spec?: { template?: { spec?: { containers?: { name: string; env?: EnvVar[] }[] } } } };
  const found = doc.spec?.template?.spec?.containers?.find((c) => c.name === container);
  if (!found) throw new Error(`no container ${container} in the manifest`);
  return found.env ?? [];
}

/**
 * Container paths in a manifest's env values (KUBECACHEDIR=/tmp/kubecache, HELM_*=/helm-working-dir: volumes of the
 * pod) re-rooted under the run's directory, so two runs and the host never share them.
 */
export function rerootPaths(env: Record<string, string>, root: string): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith('/') ? path.join(root, v) : v]));
}

export async function startArgoCD(options: ArgoCDOptions): Promise<ArgoCD> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const namespace = options.namespace ?? 'argocd';
  const timeout = options.readyTimeoutMs ?? 60_000;
  const go = findGo();
  if (!go) throw new Error('Go is needed to find Argo CD\'s manifests in the module cache (and to build it): install Go 1.26');
  const [argocd, kustomize, argocdRoot] = await Promise.all([argocdBinary({ log }), kustomizeBinary({ log }), argocdModuleDir(go)]);
  const rollouts = options.analysisController ? { binary: await rolloutsBinary({ log }), root: await rolloutsModuleDir(go) } : undefined;
  const k = options.api;
  const logDir = path.join(options.workDir, 'logs');
  const podRoot = path.join(options.workDir, 'pods');
  await mkdir(logDir, { recursive: true });
  await mkdir(path.join(options.workDir, 'redis'), { recursive: true });
  await mkdir(path.join(podRoot, 'tmp'), { recursive: true });
  // The scripts Argo CD's image puts on PATH beside its binaries (Dockerfile: COPY hack/gpg-wrapper.sh
  // hack/git-verify-wrapper.sh ... /usr/local/bin/), copied from its module with the execute bit the module cache
  // does not keep. From v3.6 the repo server runs git-verify-wrapper.sh on every manifest generation, GnuPG on or off
  // (reposerver/repository/repository.go runRepoOperation → util/git VerifyCommitSignature), and a missing one fails
  // it as "permission denied".
  const scripts = path.join(options.workDir, 'bin');
  await mkdir(scripts, { recursive: true });
  for (const script of ['gpg-wrapper.sh', 'git-verify-wrapper.sh']) {
    await copyFile(path.join(argocdRoot, 'hack', script), path.join(scripts, script));
    await chmod(path.join(scripts, script), 0o755);
  }

  log(`argocd: installing CRDs and settings from ${argocdRoot} into namespace ${namespace}`);
  await installArgoCD(k, argocdRoot, namespace);
  if (rollouts) await installRolloutsCrds(k, rollouts.root);

  const portNames = ['redis', 'repoServer', 'repoServerMetrics', 'controllerMetrics', 'appsetMetrics', 'appsetProbe', 'appsetWebhook', 'rolloutsMetrics', 'rolloutsHealthz'] as const;
  const free = await freePorts(portNames.length);
  const ports = Object.fromEntries(portNames.map((name, i) => [name, free[i]!])) as Record<(typeof portNames)[number], number>;
  const redisAddress = `127.0.0.1:${ports.redis}`;
  const repoServerAddress = `127.0.0.1:${ports.repoServer}`;

  // The command line of each component: the binary as the manifest's args name it, plus the flags described above.
  const commands: Record<Component, () => string[] | undefined> = {
    redis: () => ['redis-server', '--bind', '127.0.0.1', '--port', String(ports.redis), '--dir', path.join(options.workDir, 'redis'), '--save', '', '--appendonly', 'no', '--requirepass', '$REDIS_PASSWORD'],
    // --client-ca-path empty: from v3.6 the mTLS client CA defaults to the install's mounted Secret path, and that
    // default is refused beside --disable-tls (cmd/argocd-repo-server/commands/argocd_repo_server.go NewCommand).
    'argocd-repo-server': () => [argocd, 'argocd-repo-server', '--address', '127.0.0.1', '--port', String(ports.repoServer), '--metrics-address', '127.0.0.1', '--metrics-port', String(ports.repoServerMetrics), '--disable-tls', '--client-ca-path=', '--redis', redisAddress],
    'argocd-application-controller': () => [argocd, 'argocd-application-controller', '--namespace', namespace, '--repo-server', repoServerAddress, '--repo-server-plaintext', '--redis', redisAddress, '--metrics-port', String(ports.controllerMetrics)],
    'argocd-applicationset-controller': () => [argocd, 'argocd-applicationset-controller', '--namespace', namespace, '--argocd-repo-server', repoServerAddress, '--repo-server-plaintext', '--metrics-addr', `127.0.0.1:${ports.appsetMetrics}`, '--probe-addr', `127.0.0.1:${ports.appsetProbe}`, '--webhook-addr', `127.0.0.1:${ports.appsetWebhook}`],
    'rollouts-controller': () => rollouts && [...(options.clusterNetwork ?? []), rollouts.binary, '--controllers=analysis', '--kubeconfig', options.kubeconfig, '--metricsPort', String(ports.rolloutsMetrics), '--healthzPort', String(ports.rolloutsHealthz), '--leader-elect=false'],
  };
  const readyPort: Record<Component, number> = {
    redis: ports.redis,
    'argocd-repo-server': ports.repoServer,
    'argocd-application-controller': ports.controllerMetrics,
    'argocd-applicationset-controller': ports.appsetProbe,
    'rollouts-controller': ports.rolloutsHealthz,
  };

  async function environment(component: Component): Promise<NodeJS.ProcessEnv> {
    const config = await readConfig(k, namespace);
    const redisPassword = Buffer.from(config.secrets['argocd-redis']?.auth ?? '', 'base64').toString('utf8');
    const base: NodeJS.ProcessEnv = {
      PATH: `${path.dirname(kustomize)}:${scripts}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: podRoot,
      TMPDIR: path.join(podRoot, 'tmp'),
      KUBECONFIG: options.kubeconfig,
      ARGOCD_FAKE_IN_CLUSTER: 'true',
    };
    const manifest = MANIFESTS[component];
    if (!manifest) return { ...base, REDIS_PASSWORD: redisPassword };
    const env = containerEnv(manifestEnv(await readFile(path.join(argocdRoot, 'manifests/base', manifest), 'utf8'), component), { namespace, ...config });
    // GnuPG: the image ships a keyring under /app/config/gpg that the repo server initialises at start; commit
    // signature verification is not used by the bundle, so it is off here rather than pointed at the host's gpg.
    // The controller's shard comes from its pod's hostname, argocd-application-controller-0 (controller/sharding
    // InferShard): this process's host has another name, so shard 0 is said explicitly.
    const extra =
      component === 'argocd-repo-server' ? { ARGOCD_GPG_ENABLED: 'false' } : component === 'argocd-application-controller' ? { ARGOCD_CONTROLLER_SHARD: '0' } : {};
    return { ...base, ...rerootPaths(env, podRoot), ...extra };
  }

  const running = new Map<Component, { child: ChildProcess; record: RunningComponent }>();
  const records: RunningComponent[] = [];

  async function start(component: Component): Promise<void> {
    const argv = commands[component]();
    if (!argv) return;
    const env = await environment(component);
    // Redis reads its password from its argv as the manifest's `--requirepass $(REDIS_PASSWORD)` does.
    const args = argv.map((a) => (a === '$REDIS_PASSWORD' ? (env.REDIS_PASSWORD ?? '') : a));
    const file = path.join(logDir, `${component}.log`);
    const fd = openSync(file, 'a');
    let child: ChildProcess;
    try {
      child = spawn(args[0]!, args.slice(1), { env, stdio: ['ignore', fd, fd], cwd: podRoot });
    } finally {
      closeSync(fd);
    }
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', (e) => reject(new Error(`${component}: cannot start ${args[0]}: ${e.message}`)));
    });
    const record: RunningComponent = { component, pid, log: file };
    child.once('exit', (code, signal) => (record.exit = { code, signal }));
    running.set(component, { child, record });
    records.push(record);
    const deadline = Date.now() + timeout;
    // In the cluster's network namespace its loopback is not ours: the analysis controller is ready once it says it
    // runs (cmd/rollouts-controller/main.go logs this line right before starting its controllers).
    const ready =
      component === 'rollouts-controller' && options.clusterNetwork?.length
        ? async () => readFileSync(file, 'utf8').includes('Running only analysis controller')
        : () => answers(readyPort[component]);
    while (!(await ready())) {
      if (record.exit) throw new Error(`${component} exited (${record.exit.code ?? record.exit.signal}) before answering:\n${tail(file)}`);
      if (Date.now() > deadline) throw new Error(`${component} did not answer on port ${readyPort[component]} within ${timeout / 1000} s:\n${tail(file)}`);
      await sleep(200);
    }
    log(`argocd: ${component} up (pid ${pid})`);
  }

  async function stopOne(component: Component): Promise<void> {
    const entry = running.get(component);
    if (!entry) return;
    running.delete(component);
    const { child, record } = entry;
    if (record.exit) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
    if (killed) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  const order: Component[] = ['redis', 'argocd-repo-server', 'argocd-application-controller', 'argocd-applicationset-controller', 'rollouts-controller'];
  const stop = async () => {
    for (const c of [...order].reverse()) await stopOne(c);
  };
  try {
    for (const c of order) await start(c);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    namespace,
    components: records,
    readyAfterMs: Math.round(performance.now() - started),
    async restart(component) {
      await stopOne(component);
      await start(component);
    },
    stop,
  };
}
