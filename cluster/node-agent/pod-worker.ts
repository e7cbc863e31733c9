// One pod on this node, from first sight to the final deletion of its object: its network namespace and volumes,
// each container as a process (restarted with back-off), its probes, its status, its graceful termination. The
// kubelet's rules come from rehearsal/model/kubelet.ts (back-off, probe thresholds) and pod-status.ts (phase,
// conditions); this file is the part that touches processes and the clock.
import path from 'node:path';
import type { IContainer, IContainerState, IContainerStateTerminated, IPodStatus } from 'kubernetes-models/v1';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { restartDelayMs } from '../../rehearsal/model/kubelet.ts';
import { admitPod } from './admission.ts';
import { buildContainerPlan, ContainerConfigError, type ContainerPlan } from './container-plan.ts';
import { exitStatus, rfc3339, Sleeper, startContainerProcess, stopContainerProcess, type ContainerProcess } from './container-process.ts';
import type { ImageStore } from './images.ts';
import { ApiError, type KubeApi } from './kube-api.ts';
import { hostsFile, IMAGE_NSSWITCH, podDnsConfig, resolvConf, type NodeDnsSettings } from './pod-dns.ts';
import { podNetNames, setUpPodNetwork, tearDownPodNetwork, writePodEtcFiles, type PodIPAllocator } from './pod-network.ts';
import { podStatus, type ContainerView, type RestartPolicy } from './pod-status.ts';
import { startProbeWorkers } from './probe-workers.ts';
import { prepareVolumes, VolumeNotReady, type PreparedVolumes } from './volumes.ts';

export interface WorkerDeps {
  api: KubeApi;
  images: ImageStore;
  nodeName: string;
  hostIP: string;
  stateDir: string;
  nodeBinary: string;
  apiService: { host: string; port: number };
  /** The kubelet's --cluster-dns and --cluster-domain, and the node's resolv.conf: each pod's /etc/resolv.conf. */
  dns: NodeDnsSettings;
  ips: PodIPAllocator;
  log: (msg: string) => void;
}

const now = (): string => rfc3339();

interface Instance {
  proc: ContainerProcess;
  stopProbes: () => void;
  killing: boolean;
}

class ContainerRuntime {
  readonly spec: IContainer;
  view: ContainerView;
  instance: Instance | undefined;
  readonly sleeper = new Sleeper();
  constructor(spec: IContainer, previous: IPodStatus | undefined) {
    this.spec = spec;
    const prev = previous?.containerStatuses?.find((s) => s.name === spec.name);
    // A container this agent finds already started (the agent restarted and its processes went with it) is a restart.
    const restartCount = prev ? prev.restartCount + (prev.state?.running || prev.state?.terminated ? 1 : 0) : 0;
    this.view = {
      name: spec.name,
      image: spec.image ?? '',
      imageID: '',
      state: { waiting: { reason: 'ContainerCreating' } },
      restartCount,
      started: false,
      ready: false,
      ...(prev?.lastState?.terminated ? { lastState: prev.lastState.terminated } : {}),
    };
  }
}

export class PodWorker {
  #pod: IPod;
  readonly #deps: WorkerDeps;
  readonly #uid: string;
  readonly #containers: ContainerRuntime[];
  readonly #podDir: string;
  #podIP: string | undefined;
  #sandboxReady = false;
  #volumes: PreparedVolumes | undefined;
  #terminal: { reason?: string; message?: string; failed?: boolean } | undefined;
  #terminating: Promise<void> | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #startTime: string | undefined;
  #statusBusy = false;
  #statusAgain = false;
  #lastSent = '';
  #stopped = false;
  readonly #setupSleeper = new Sleeper();
  /** Settles when the sandbox and volume set-up has finished or given up: termination tears down after it. */
  #setupDone: Promise<void> = Promise.resolve();
  /** Settles when the worker is done with the pod (its processes ended; the object deleted if it was being deleted). */
  readonly done: Promise<void>;

  constructor(deps: WorkerDeps, pod: IPod) {
    this.#deps = deps;
    this.#pod = pod;
    this.#uid = pod.metadata?.uid ?? '';
    this.#containers = (pod.spec?.containers ?? []).map((c) => new ContainerRuntime(c, pod.status));
    this.#podDir = path.join(deps.stateDir, 'pods', `${pod.metadata?.namespace}_${pod.metadata?.name}_${this.#uid}`);
    this.done = this.#run().catch((err: Error) => deps.log(`pod ${this.#key}: ${err.stack ?? err.message}`));
  }

  get #key(): string {
    return `${this.#pod.metadata?.namespace}/${this.#pod.metadata?.name}`;
  }

  get #policy(): RestartPolicy {
    return (this.#pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
  }

  /** A newer object from the watch. A deletionTimestamp starts the graceful termination. */
  update(pod: IPod): void {
    this.#pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.#terminating) void this.terminate(true);
  }

  /** The watch said the object is gone (deleted with grace 0 by someone): stop everything, delete nothing. */
  gone(): void {
    this.#stopped = true;
    if (!this.#terminating) void this.terminate(false);
  }

  #event(reason: string, message: string, container?: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    const meta = this.#pod.metadata ?? {};
    const ts = now();
    void this.#deps.api
      .request('POST', `/api/v1/namespaces/${meta.namespace}/events`, {
        metadata: { generateName: `${meta.name}.`, namespace: meta.namespace },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          namespace: meta.namespace,
          name: meta.name,
          uid: meta.uid,
          ...(container ? { fieldPath: `spec.containers{${container}}` } : {}),
        },
        reason,
        message,
        type,
        source: { component: 'kubelet', host: this.#deps.nodeName },
        reportingComponent: 'kubelet',
        reportingInstance: this.#deps.nodeName,
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
      })
      .catch(() => undefined);
  }

  async #run(): Promise<void> {
    const pod = this.#pod;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // Nothing to run: a finished Job pod (or one from before an agent restart). Keep its status as it is.
      this.#lastSent = 'terminal';
      this.#terminal = {};
      return;
    }
    const refusal = admitPod(pod);
    if (refusal) {
      this.#terminal = refusal;
      for (const c of this.#containers) c.view.state = { waiting: { reason: 'Blocked', message: refusal.message } };
      this.#event(refusal.reason, refusal.message, undefined, 'Warning');
      await this.#syncStatus(true);
      return;
    }
    this.#startTime = pod.status?.startTime ?? now();
    const deadline = pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined) {
      // pkg/kubelet/active_deadline.go: a pod running longer than activeDeadlineSeconds since startTime is killed and
      // ends Failed with reason DeadlineExceeded.
      const left = Date.parse(this.#startTime) + deadline * 1000 - Date.now();
      this.#deadlineTimer = setTimeout(() => {
        if (this.#terminating) return;
        this.#terminal = { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline', failed: true };
        this.#event('DeadlineExceeded', this.#terminal.message ?? '', undefined, 'Warning');
        void this.terminate(false);
      }, Math.max(0, left));
    }

    let endSetup = (): void => undefined;
    this.#setupDone = new Promise<void>((resolve) => (endSetup = resolve));
    try {
      if (!(await this.#setUp())) return;
    } finally {
      endSetup();
    }
    await Promise.all(this.#containers.map((c) => this.#containerLoop(c)));
    // Every container has ended for good (restartPolicy Never / OnFailure after success): the pod is done.
    if (!this.#terminating) await this.terminate(false);
  }

  /** The sandbox (address, network namespace) and the volumes; false when the pod was terminated meanwhile. */
  async #setUp(): Promise<boolean> {
    const pod = this.#pod;
    // The sandbox: an address and a network namespace.
    const previousIP = pod.status?.podIP;
    this.#podIP = previousIP && this.#deps.ips.claim(this.#uid, previousIP) ? previousIP : this.#deps.ips.allocate(this.#uid);
    while (!this.#terminating) {
      try {
        await setUpPodNetwork(this.#uid, this.#podIP);
        // The files the kubelet writes into the sandbox: resolv.conf from the pod's DNS policy, hosts with its own
        // names; nsswitch.conf is the image's (pod-dns.ts).
        writePodEtcFiles(this.#uid, {
          'resolv.conf': resolvConf(podDnsConfig(pod, this.#deps.dns)),
          hosts: hostsFile(pod, this.#podIP, this.#deps.dns.clusterDomain),
          'nsswitch.conf': IMAGE_NSSWITCH,
        });
        break;
      } catch (err) {
        this.#deps.log(`pod ${this.#key}: network: ${(err as Error).message}`);
        this.#event('FailedCreatePodSandBox', (err as Error).message, undefined, 'Warning');
        await this.#setupSleeper.sleep(5000);
      }
    }
    if (this.#terminating) return false;
    this.#sandboxReady = true;
    void this.#syncStatus();

    // Volumes: a claim that is not bound yet, a missing config map, are waited for (the kubelet's volume manager).
    while (!this.#terminating) {
      try {
        this.#volumes = await prepareVolumes(
          { api: this.#deps.api, podDir: this.#podDir, podIP: this.#podIP, hostIP: this.#deps.hostIP, log: this.#deps.log },
          this.#pod,
        );
        break;
      } catch (err) {
        const e = err as Error;
        const waiting = err instanceof VolumeNotReady;
        for (const c of this.#containers) {
          c.view.state = { waiting: { reason: waiting ? 'ContainerCreating' : 'CreateContainerConfigError', message: e.message } };
        }
        this.#event('FailedMount', e.message, undefined, 'Warning');
        void this.#syncStatus();
        await this.#setupSleeper.sleep(waiting ? 2000 : 10_000);
      }
    }
    return !this.#terminating;
  }

  /** One container: start, wait for its end, restart it after back-off while the policy says so. */
  async #containerLoop(c: ContainerRuntime): Promise<void> {
    let imagePullFailures = 0;
    while (!this.#terminating) {
      const image = this.#deps.images.resolve(c.spec.image ?? '');
      if (!image) {
        // pkg/kubelet/images/image_manager.go: ErrImagePull, then ImagePullBackOff with the same back-off as restarts.
        const message = `image ${c.spec.image} is not one of this node's builds (${this.#deps.images.tags.join(', ')})`;
        c.view.state = { waiting: { reason: imagePullFailures === 0 ? 'ErrImagePull' : 'ImagePullBackOff', message } };
        if (imagePullFailures === 0) this.#event('Failed', `Failed to pull image "${c.spec.image}": ${message}`, c.spec.name, 'Warning');
        void this.#syncStatus();
        await c.sleeper.sleep(restartDelayMs(++imagePullFailures) || 1000);
        continue;
      }
      c.view.imageID = `rollcall-build://${image.dir}`;
      let plan: ContainerPlan;
      try {
        const values = await this.#envSources(c.spec);
        plan = buildContainerPlan({
          pod: this.#pod,
          container: c.spec,
          image,
          mounts: this.#volumes?.mountsFor(c.spec.volumeMounts) ?? [],
          nodeBinary: this.#deps.nodeBinary,
          podIP: this.#podIP ?? '',
          hostIP: this.#deps.hostIP,
          apiService: this.#deps.apiService,
          lookup: (kind, name, key) => values.get(`${kind}/${name}`)?.[key],
        });
        const saMount = c.spec.volumeMounts?.find((m) => m.mountPath.replace(/\/+$/, '') === '/var/run/secrets/kubernetes.io/serviceaccount');
        if (saMount) {
          const mounted = this.#volumes?.mountsFor([saMount])[0];
          // The hooks read their token from SERVICEACCOUNT_DIR (src/hooks/k8s-client.ts inClusterConfig): there is no
          // mount namespace to put it at the standard path.
          if (mounted) plan.env['SERVICEACCOUNT_DIR'] = mounted.hostPath;
        }
      } catch (err) {
        if (!(err instanceof ContainerConfigError)) throw err;
        c.view.state = { waiting: { reason: 'CreateContainerConfigError', message: err.message } };
        this.#event('Failed', `Error: ${err.message}`, c.spec.name, 'Warning');
        void this.#syncStatus();
        await c.sleeper.sleep(10_000);
        continue;
      }

      const inst = this.#start(c, plan);
      const { code, signal } = await inst.proc.exited;
      inst.stopProbes();
      c.instance = undefined;
      const { exitCode, signal: signalNo } = exitStatus(code, signal);
      const terminated: IContainerStateTerminated = {
        exitCode,
        ...(signalNo !== undefined ? { signal: signalNo } : {}),
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: inst.proc.startedAt,
        finishedAt: now(),
        ...(c.view.containerID ? { containerID: c.view.containerID } : {}),
      };
      c.view.ready = false;
      c.view.started = false;
      const restart = !this.#terminating && (this.#policy === 'Always' || (this.#policy === 'OnFailure' && exitCode !== 0));
      if (!restart) {
        c.view.state = { terminated };
        void this.#syncStatus();
        return;
      }
      // Back-off before the next start: rehearsal/model/kubelet.ts restartDelayMs (10 s doubling, capped at 5 min).
      const delay = restartDelayMs(c.view.restartCount);
      c.view.lastState = terminated;
      if (delay > 0) {
        const message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.spec.name} pod=${this.#pod.metadata?.name}_${this.#pod.metadata?.namespace}(${this.#uid})`;
        c.view.state = { waiting: { reason: 'CrashLoopBackOff', message } };
        this.#event('BackOff', 'Back-off restarting failed container', c.spec.name, 'Warning');
      } else {
        c.view.state = { terminated };
      }
      void this.#syncStatus();
      await c.sleeper.sleep(delay);
      if (this.#terminating) {
        c.view.state = { terminated };
        return;
      }
      c.view.restartCount++;
    }
  }

  /** The config maps and secrets a container's env refers to, fetched once per start (the kubelet reads them then too). */
  async #envSources(spec: IContainer): Promise<Map<string, Record<string, string>>> {
    const ns = this.#pod.metadata?.namespace;
    const out = new Map<string, Record<string, string>>();
    for (const v of spec.env ?? []) {
      const cm = v.valueFrom?.configMapKeyRef;
      const sec = v.valueFrom?.secretKeyRef;
      if (cm?.name && !out.has(`configmap/${cm.name}`)) {
        const obj = await this.#deps.api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${cm.name}`);
        out.set(`configmap/${cm.name}`, obj?.data ?? {});
      }
      if (sec?.name && !out.has(`secret/${sec.name}`)) {
        const obj = await this.#deps.api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets/${sec.name}`);
        out.set(`secret/${sec.name}`, Object.fromEntries(Object.entries(obj?.data ?? {}).map(([k, b]) => [k, Buffer.from(b, 'base64').toString('utf8')])));
      }
    }
    return out;
  }

  /** Starts the container's process and its probe workers. */
  #start(c: ContainerRuntime, plan: ContainerPlan): Instance {
    const proc = startContainerProcess(
      plan,
      podNetNames(this.#uid).netns,
      path.join(this.#podDir, 'logs', c.spec.name, `${c.view.restartCount}.log`),
      path.join(this.#podDir, 'pids', c.spec.name),
      (err) => this.#deps.log(`pod ${this.#key} container ${c.spec.name}: ${err.message}`),
    );
    c.view.containerID = `process://${this.#uid}/${c.spec.name}/${c.view.restartCount}`;
    c.view.state = { running: { startedAt: proc.startedAt } };
    c.view.started = false;
    c.view.ready = false;
    const inst: Instance = { proc, stopProbes: () => undefined, killing: false };
    c.instance = inst;
    this.#event('Started', `Started container ${c.spec.name}`, c.spec.name);
    inst.stopProbes = startProbeWorkers(c.spec, this.#podIP ?? '', {
      started: () => {
        c.view.started = true;
        void this.#syncStatus();
      },
      readyChanged: (ready) => {
        c.view.ready = ready;
        void this.#syncStatus();
      },
      kill: (why) => void this.#kill(c, this.#graceSeconds(), why),
      failed: (kind, message) => this.#event('Unhealthy', `${kind} probe failed: ${message}`, c.spec.name, 'Warning'),
    });
    void this.#syncStatus();
    return inst;
  }

  /** Kills the container's process (container-process.ts), once, whoever asks. */
  async #kill(c: ContainerRuntime, graceSeconds: number, why: string): Promise<void> {
    const inst = c.instance;
    if (!inst) return;
    if (inst.killing) {
      await inst.proc.exited;
      return;
    }
    inst.killing = true;
    inst.stopProbes();
    this.#event('Killing', `Stopping container ${c.spec.name}: ${why}`, c.spec.name);
    await stopContainerProcess(inst.proc, graceSeconds);
  }

  #graceSeconds(): number {
    return this.#pod.metadata?.deletionGracePeriodSeconds ?? this.#pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  /**
   * Stops the pod's containers (SIGTERM, grace, SIGKILL), reports the final status, tears down its network and own
   * volumes, and, when its object is being deleted, finishes the deletion with grace 0 and a uid precondition (the
   * kubelet's status manager does this once the pod's containers are gone: pkg/kubelet/status/status_manager.go
   * syncPod, `canBeDeleted`). Without this last step StatefulSets wait forever on Terminating pods.
   */
  terminate(deleteObject: boolean): Promise<void> {
    if (this.#terminating) return this.#terminating;
    this.#terminating = (async () => {
      this.#setupSleeper.wake();
      if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
      const grace = this.#graceSeconds();
      for (const c of this.#containers) c.sleeper.wake();
      await this.#setupDone;
      await Promise.all(this.#containers.map((c) => this.#kill(c, grace, deleteObject ? 'the pod is being deleted' : 'the pod is done')));
      // Give container loops a turn to record their terminated states.
      await new Promise((r) => setImmediate(r));
      for (const c of this.#containers) {
        if (!c.view.state.terminated) {
          const last = c.view.state.running?.startedAt;
          c.view.state = {
            terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', ...(last ? { startedAt: last } : {}), finishedAt: now() },
          } as IContainerState;
        }
        c.view.ready = false;
      }
      this.#terminal ??= {};
      this.#sandboxReady = false;
      if (!this.#stopped) await this.#syncStatus(true);
      await tearDownPodNetwork(this.#uid);
      this.#volumes?.release();
      this.#deps.ips.release(this.#uid);
      if (deleteObject && !this.#stopped) await this.#deleteObject();
    })();
    return this.#terminating;
  }

  /** Agent shutdown: processes end, the pod object stays (a kubelet that stops leaves its pods as they are). */
  async shutdown(): Promise<void> {
    this.#stopped = true;
    await this.terminate(false);
    await this.done;
  }

  async #deleteObject(): Promise<void> {
    const meta = this.#pod.metadata ?? {};
    try {
      await this.#deps.api.request('DELETE', `/api/v1/namespaces/${meta.namespace}/pods/${meta.name}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: meta.uid },
      });
    } catch (err) {
      // 404: already gone; 409: a new pod of the same name (StatefulSet) now holds the name; both are fine.
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) this.#deps.log(`pod ${this.#key}: delete: ${(err as Error).message}`);
    }
  }

  /** Sends the status when it changed; one request at a time, the latest state wins. */
  async #syncStatus(force = false): Promise<void> {
    if (this.#stopped && !force) return;
    if (this.#statusBusy) {
      this.#statusAgain = true;
      return;
    }
    this.#statusBusy = true;
    try {
      do {
        this.#statusAgain = false;
        const view = {
          containers: this.#containers.map((c) => c.view),
          containerCount: this.#containers.length,
          restartPolicy: this.#policy,
          sandboxReady: this.#sandboxReady,
          hostIP: this.#deps.hostIP,
          readinessGates: (this.#pod.spec?.readinessGates ?? []).map((g) => g.conditionType),
          ...(this.#podIP ? { podIP: this.#podIP } : {}),
          ...(this.#startTime ? { startTime: this.#startTime } : {}),
          ...(this.#terminal ? { terminal: this.#terminal } : {}),
        };
        const status = podStatus(view, this.#pod.status, new Date());
        const body = JSON.stringify(status);
        if (body === this.#lastSent) continue;
        const meta = this.#pod.metadata ?? {};
        try {
          // metadata.uid in the patch: the API server refuses it for a different pod of the same name (the kubelet's
          // status manager does the same through statusutil.PatchPodStatus).
          const updated = await this.#deps.api.request<IPod>(
            'PATCH',
            `/api/v1/namespaces/${meta.namespace}/pods/${meta.name}/status`,
            { metadata: { uid: meta.uid }, status },
            'merge',
          );
          this.#lastSent = body;
          if (updated.metadata?.uid === this.#uid) this.#pod = { ...this.#pod, status: updated.status } as IPod;
        } catch (err) {
          if (err instanceof ApiError && (err.status === 404 || err.status === 409 || err.status === 422)) return;
          this.#deps.log(`pod ${this.#key}: status: ${(err as Error).message}`);
          this.#statusAgain = true;
          await new Promise((r) => setTimeout(r, 1000));
        }
      } while (this.#statusAgain);
    } finally {
      this.#statusBusy = false;
    }
  }
}
